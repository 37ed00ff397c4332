"""The package layout follows the layer diagram: lower parts never import higher ones."""

from __future__ import annotations

import ast
from pathlib import Path

import experimentos

PACKAGE = Path(experimentos.__file__).parent

# Lower number = lower layer. A module may import its own layer or any lower one.
# Longest prefix wins, so a part can place one module lower than the rest of its folder.
LAYERS = {
    "experimentos.errors": 0,
    "experimentos.config": 0,
    "experimentos.knowledge.models": 1,
    "experimentos.lab.models": 1,
    "experimentos.lab.runs.contract": 1,
    "experimentos.matrix.fixture": 1,
    "experimentos.stats": 1,
    "experimentos.store": 2,
    "experimentos.lab.paths": 2,
    "experimentos.lab.scan": 2,
    "experimentos.repofacts": 3,
    "experimentos.index": 3,
    "experimentos.knowledge": 4,
    "experimentos.lab": 4,
    "experimentos.briefs": 4,
    "experimentos.proposals": 4,
    "experimentos.schema": 4,
    "experimentos.agents": 4,
    "experimentos.lifecycle": 4,
    "experimentos.matrix": 5,
    "experimentos.matrix.spec": 4,  # schema.py exports its JSON Schema
    "experimentos.reports": 6,
    "experimentos.site": 6,  # reads knowledge, lab and briefs; adapters call it
    "experimentos.ci": 6,  # what the workflows call: proposals, lab paths
    "experimentos.lifecycle.promote": 7,  # the promotion gate reads matrix reports
    "experimentos.__main__": 9,
    "experimentos.cli": 9,
    "experimentos.mcp": 9,
    "experimentos.http": 9,
}
ADAPTERS = ("experimentos.cli", "experimentos.mcp", "experimentos.http", "experimentos.__main__")


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    return best[1] if best else None


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("experim"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("experimentos"))
    return found


def test_every_module_has_a_layer():
    unplaced = [m for m, _ in modules() if m != "experimentos" and layer_of(m) is None]
    assert unplaced == [], f"place these modules in LAYERS: {unplaced}"


def test_no_module_imports_a_higher_layer_or_an_adapter():
    violations = []
    for module, path in modules():
        own = layer_of(module)
        if own is None:
            continue
        for target in imports(path):
            layer = layer_of(target)
            if layer is None:
                continue
            if target.startswith(ADAPTERS) and not module.startswith(ADAPTERS):
                violations.append(f"{module} imports the adapter {target}")
            elif layer > own:
                violations.append(f"{module} (layer {own}) imports {target} (layer {layer})")
    assert violations == []


def test_top_level_holds_folders_not_prefixed_modules():
    flat = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__"})
    assert flat == ["config", "errors", "schema"]
