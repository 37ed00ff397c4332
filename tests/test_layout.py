"""The package layout follows the layer diagram: lower parts never import higher ones."""

from __future__ import annotations

import ast
from pathlib import Path

import experimentos

PACKAGE = Path(experimentos.__file__).parent

# Lower number = lower layer. A module may import its own layer or any lower one. A layer
# belongs to a whole part (a top-level folder or module): no module sits lower than its folder.
LAYERS = {
    "experimentos.errors": 0,
    "experimentos.markdown": 1,  # escaping record text for Markdown: reports, ci, promote
    "experimentos.config": 0,
    "experimentos.models": 1,
    "experimentos.stats": 1,
    "experimentos.store": 2,
    "experimentos.repofacts": 3,
    "experimentos.net": 3,  # outbound HTTP (the GitHub API): one deadline, one origin
    "experimentos.index": 3,
    "experimentos.knowledge": 4,
    "experimentos.lab": 4,
    "experimentos.briefs": 4,
    "experimentos.proposals": 4,
    "experimentos.agents": 4,
    "experimentos.lifecycle": 4,
    "experimentos.matrix": 5,
    "experimentos.schema": 5,  # exports the JSON Schemas of models and matrix specs
    "experimentos.reports": 6,
    "experimentos.site": 6,  # reads knowledge, lab and briefs; adapters call it
    "experimentos.ci": 6,  # what the workflows call: proposals, lab paths
    "experimentos.impact": 6,  # briefs at two revisions (fixtures' tasks come from matrix)
    "experimentos.promote": 7,  # the promotion gate reads matrix reports
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


PACKAGE_INITS: dict[str, bool] = {}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
            PACKAGE_INITS[".".join(parts)] = True
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


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    violations = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        if own is None:
            continue
        for target in sorted(targets):
            layer = layer_of(target)
            if layer is None:
                continue
            if target.startswith(ADAPTERS) and not module.startswith(ADAPTERS):
                violations.append(f"{module} imports the adapter {target}")
            elif layer > own:
                violations.append(f"{module} (layer {own}) imports {target} (layer {layer})")
    return violations


def import_graph() -> dict[str, set[str]]:
    return {module: imports(path) for module, path in modules()}


def test_no_module_imports_a_higher_layer_or_an_adapter():
    assert layer_violations(import_graph()) == []


def test_layers_belong_to_whole_parts():
    parts = {m.split(".")[1] for m, _ in modules() if m != "experimentos"}
    nested = [prefix for prefix in LAYERS if prefix.count(".") > 1]
    assert nested == [], f"a module placed below its folder: {nested}"
    assert parts == {prefix.split(".")[1] for prefix in LAYERS}


def test_the_check_catches_an_import_from_a_higher_layer():
    # The store (layer 2) reaching up into a domain part, even for a model, is a violation.
    graph = {
        "experimentos.store.documents": {"experimentos.knowledge.graph"},
        "experimentos.models.knowledge": {"experimentos.store.safe"},
        "experimentos.briefs.render": {"experimentos.cli._common"},
    }
    assert layer_violations(graph) == [
        "experimentos.briefs.render imports the adapter experimentos.cli._common",
        "experimentos.models.knowledge (layer 1) imports experimentos.store.safe (layer 2)",
        "experimentos.store.documents (layer 2) imports experimentos.knowledge.graph (layer 4)",
    ]


def module_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (imports inside functions count)."""
    known = set(graph)
    edges = {m: {t for t in targets if t in known and t != m} for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # recursion depth is bounded by the package's size
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_modules_do_not_import_each_other():
    # A package's __init__ re-exporting its modules is not a cycle: only module-to-module edges.
    graph = {m: t for m, t in import_graph().items() if not PACKAGE_INITS.get(m)}
    assert module_cycles(graph) == []


def test_the_cycle_check_catches_a_cycle():
    graph = {"experimentos.a": {"experimentos.b"}, "experimentos.b": {"experimentos.a"}}
    assert module_cycles(graph) == [["experimentos.a", "experimentos.b"]]


def test_top_level_holds_folders_not_prefixed_modules():
    flat = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__"})
    assert flat == ["config", "errors", "schema"]
