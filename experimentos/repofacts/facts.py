"""Local facts: the package versions a repository declares and locks, read from root manifests.

Only files at the repository root are read. A file that cannot be read, parsed or understood
becomes a `ManifestProblem` and the other files are still read: local facts are evidence for a
brief, never a reason to fail it. Lockfiles decide `locked`; manifests decide `declared`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, Field

from experimentos.errors import NotFound, UnsafePath, article
from experimentos.store.parse import JsonError, load_json
from experimentos.store.safe import read_regular
from experimentos.store.yamlio import load_data_yaml

MAX_MANIFEST_BYTES = 20 * 1024 * 1024

Ecosystem = Literal["npm", "python"]

# Root files we recognise but cannot read; naming them tells the reader the facts are partial.
UNSUPPORTED_MANIFESTS = (
    *("yarn.lock", "bun.lock", "bun.lockb", "Pipfile", "Pipfile.lock", "setup.py", "setup.cfg"),
    *("Cargo.toml", "go.mod", "Gemfile", "composer.json", "pom.xml", "build.gradle"),
)
_NPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_PNPM_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies")


class LocalVersion(BaseModel):
    """One package: the specifier a manifest declares and the exact version that is locked."""

    name: str
    ecosystem: Ecosystem
    declared: str | None = None
    locked: str | None = None
    source: str
    direct: bool = False  # declared by a root manifest (not only a lockfile's transitive entry)


class ManifestProblem(BaseModel):
    """A root manifest that could not be read or understood (in full or in part)."""

    path: str
    message: str


class LocalFacts(BaseModel):
    """What the root manifests of a repository say about its dependencies."""

    repo: str
    versions: dict[str, LocalVersion] = Field(default_factory=dict)
    manifests: list[str] = Field(default_factory=list)
    problems: list[ManifestProblem] = Field(default_factory=list)

    def get(self, name: str) -> LocalVersion | None:
        """The entry for `name`, whichever ecosystem's spelling it is given in."""
        return self.versions.get(npm_key(name)) or self.versions.get(python_key(name))

    def direct(self) -> dict[str, LocalVersion]:
        """The dependencies the root manifests declare, by key (lockfile-only entries left out)."""
        return {key: entry for key, entry in self.versions.items() if entry.direct}


def npm_key(name: str) -> str:
    """npm package names compare lowercased."""
    return name.strip().lower()


def python_key(name: str) -> str:
    """PEP 503 normalised name: lowercase, runs of `-`, `_`, `.` become one `-`."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


class _Bad(Exception):
    """A file that cannot be used at all; becomes one problem entry."""


class _Collector:
    def __init__(self, repo: Path):
        self.facts = LocalFacts(repo=str(repo))
        self._from_lock: set[str] = set()

    def problem(self, path: str, message: str) -> None:
        self.facts.problems.append(ManifestProblem(path=path, message=message))

    def _entry(self, name: str, ecosystem: Ecosystem, source: str) -> LocalVersion | None:
        key = npm_key(name) if ecosystem == "npm" else python_key(name)
        entry = self.facts.versions.get(key)
        if entry is None:
            entry = LocalVersion(name=name, ecosystem=ecosystem, source=source)
            self.facts.versions[key] = entry
        # The same key in the other ecosystem is another package; the first one read stays.
        return entry if entry.ecosystem == ecosystem else None

    def declare(
        self, name: str, ecosystem: Ecosystem, declared: str | None, source: str, pin: str | None
    ) -> None:
        """Record a manifest entry: the first declaration wins, a pin fills `locked` if unset."""
        entry = self._entry(name, ecosystem, source)
        if entry is None:
            return
        entry.direct = True
        if entry.declared is None:
            entry.declared = declared
        if pin and entry.locked is None:
            entry.locked, entry.source = pin, source

    def lock(self, name: str, ecosystem: Ecosystem, version: str, source: str) -> None:
        """Record a lockfile entry: it overrides pins; the first lockfile read wins."""
        entry = self._entry(name, ecosystem, source)
        if entry is None or id(entry) in self._from_lock:
            return
        entry.locked, entry.source = version, source
        self._from_lock.add(id(entry))


def read_local_facts(repo: Path) -> LocalFacts:
    """Read the dependency manifests and lockfiles at the root of `repo`."""
    repo = Path(repo)
    if not repo.is_dir():
        raise NotFound("repository directory does not exist", path=repo)
    out = _Collector(repo)
    for rel, parse, read in _readers(repo):
        try:
            read(out, rel, _load(repo, rel, parse))
        except _Bad as exc:
            out.problem(rel, str(exc))
            continue
        out.facts.manifests.append(rel)
    for name in UNSUPPORTED_MANIFESTS:
        if (repo / name).is_file():
            out.problem(name, "unsupported manifest kind; its versions were not read")
    return out.facts


_CACHE: dict[str, tuple[tuple, LocalFacts]] = {}
_CACHE_SIZE = 32


def cached_local_facts(repo: Path) -> LocalFacts:
    """`read_local_facts`, memoised on the stat of every file at the repository root, so a
    warm server reads a big lockfile once and again only after it changes."""
    repo = Path(repo).resolve()
    try:
        key = tuple(
            sorted(
                (entry.name, st.st_mtime_ns, st.st_size, st.st_ino)
                for entry in os.scandir(repo)
                if entry.is_file() and (st := entry.stat())
            )
        )
    except FileNotFoundError:
        raise NotFound("repository directory does not exist", path=repo) from None
    except NotADirectoryError:
        raise NotFound("repository path is not a directory", path=repo) from None
    hit = _CACHE.get(str(repo))
    if hit is not None and hit[0] == key:
        return hit[1]
    facts = read_local_facts(repo)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[str(repo)] = (key, facts)
    return facts


_Reader = Callable[[_Collector, str, Any], None]


def _readers(repo: Path) -> list[tuple[str, Callable[[str], Any], _Reader]]:
    """The root files to read, manifests before lockfiles, in a fixed order."""
    found: list[tuple[str, Callable[[str], Any], _Reader]] = [
        ("package.json", load_json, _package_json),
        ("pyproject.toml", tomllib.loads, _pyproject),
    ]
    found += [(p.name, str, _requirements) for p in sorted(repo.glob("requirements*.txt"))]
    found += [
        ("package-lock.json", load_json, _package_lock),
        ("npm-shrinkwrap.json", load_json, _package_lock),
        ("pnpm-lock.yaml", load_data_yaml, _pnpm_lock),
        ("poetry.lock", tomllib.loads, _toml_lock),
        ("uv.lock", tomllib.loads, _toml_lock),
    ]
    return [item for item in found if (repo / item[0]).is_file()]


def _load(repo: Path, rel: str, parse: Callable[[str], Any]) -> Any:
    try:
        # A manifest is a regular file inside the repository: a link out of it is not read, and
        # a FIFO named like a lockfile does not block.
        raw = read_regular(repo, rel, limit=MAX_MANIFEST_BYTES)
    except (NotFound, UnsafePath) as exc:
        raise _Bad(f"cannot read: {exc.message}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _Bad(f"file is larger than {MAX_MANIFEST_BYTES} bytes; not read")
    try:
        text = raw.decode("utf-8-sig")  # -sig: editors on Windows add a BOM that json rejects
    except UnicodeDecodeError as exc:
        raise _Bad("file is not valid UTF-8") from exc
    try:
        return parse(text)
    except JsonError as exc:
        raise _Bad(f"invalid JSON: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise _Bad(f"invalid TOML: {exc}") from exc
    except yaml.YAMLError as exc:
        if "nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own depth limit
            raise _Bad("nested too deeply to read; its versions were not read") from None
        raise _Bad(f"invalid YAML: {_yaml_message(exc)}") from exc
    except RecursionError:  # every parser here recurses per nesting level
        raise _Bad("nested too deeply to read; its versions were not read") from None
    except (ValueError, OverflowError) as exc:  # a number or date Python will not convert
        raise _Bad(f"a value cannot be read: {str(exc)[:200]}") from None


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return " ".join(str(exc).split())
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Bad(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _section(out: _Collector, rel: str, value: Any, where: str, kind: type) -> Any:
    """`value` when it has the expected type; a problem (and an empty value) when it has not."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        expected = "mapping" if kind is dict else "list"
        out.problem(
            rel, f"{where}: expected {article(expected)} {expected}, got {type(value).__name__}"
        )
        return kind()
    return value


# --- npm -------------------------------------------------------------------------------------


def _package_json(out: _Collector, rel: str, data: Any) -> None:
    doc = _mapping(data, "top level")
    for section in _NPM_SECTIONS:
        for name, spec in _section(out, rel, doc.get(section), section, dict).items():
            if not isinstance(spec, str):
                out.problem(rel, f"{section}.{name}: expected a string")
                continue
            out.declare(name, "npm", spec.strip(), rel, None)


def _package_lock(out: _Collector, rel: str, data: Any) -> None:
    doc = _mapping(data, "top level")
    if "packages" in doc:  # lockfileVersion 2 and 3
        for key, entry in _mapping(doc["packages"], "packages").items():
            name = key.removeprefix("node_modules/")
            # "" is the project itself; nested node_modules are not what the root resolves.
            if name == key or "/node_modules/" in name or not isinstance(entry, dict):
                continue
            if isinstance(entry.get("version"), str):
                out.lock(name, "npm", entry["version"], rel)
    elif "dependencies" in doc:  # lockfileVersion 1
        for name, entry in _mapping(doc["dependencies"], "dependencies").items():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                out.lock(name, "npm", entry["version"], rel)


def _pnpm_lock(out: _Collector, rel: str, data: Any) -> None:
    doc = _mapping(data, "top level")
    # v6+ lockfiles keep the root project under importers["."]; older ones at the top level.
    root = doc
    if "importers" in doc:
        root = _mapping(_mapping(doc["importers"], "importers").get(".", {}), "importers['.']")
    for section in _PNPM_SECTIONS:
        for name, value in _section(out, rel, root.get(section), section, dict).items():
            version = value.get("version") if isinstance(value, dict) else value
            if isinstance(version, int | float) and not isinstance(version, bool):
                version = str(version)
            if not isinstance(version, str):
                out.problem(rel, f"{section}.{name}: expected a version")
                continue
            out.lock(str(name), "npm", _pnpm_version(version), rel)


def _pnpm_version(text: str) -> str:
    """Drop the peer suffix: `1.2.3(react@18.0.0)` (v6+) or `1.2.3_react@18.0.0` (v5)."""
    text = text.split("(", 1)[0].strip()
    return text.split("_", 1)[0] if text[:1].isdigit() else text


# --- Python ----------------------------------------------------------------------------------


def _pyproject(out: _Collector, rel: str, data: Any) -> None:
    doc = _mapping(data, "top level")
    project = _section(out, rel, doc.get("project"), "project", dict)
    _pep508_list(out, rel, "project.dependencies", project.get("dependencies"))
    extras = _section(
        out, rel, project.get("optional-dependencies"), "project.optional-dependencies", dict
    )
    for extra, items in extras.items():
        _pep508_list(out, rel, f"project.optional-dependencies.{extra}", items)
    groups = _section(out, rel, doc.get("dependency-groups"), "dependency-groups", dict)
    for group, items in groups.items():
        strings = [i for i in items if isinstance(i, str)] if isinstance(items, list) else items
        _pep508_list(out, rel, f"dependency-groups.{group}", strings)
    tool = _section(out, rel, doc.get("tool"), "tool", dict)
    poetry = _section(out, rel, tool.get("poetry"), "tool.poetry", dict)
    tables = {"tool.poetry.dependencies": poetry.get("dependencies")}
    tables["tool.poetry.dev-dependencies"] = poetry.get("dev-dependencies")
    for group, table in _section(out, rel, poetry.get("group"), "tool.poetry.group", dict).items():
        group_table = table.get("dependencies") if isinstance(table, dict) else table
        tables[f"tool.poetry.group.{group}.dependencies"] = group_table
    for where, table in tables.items():
        for name, value in _section(out, rel, table, where, dict).items():
            if python_key(name) != "python":
                spec = _poetry_spec(value)
                out.declare(name, "python", spec, rel, _poetry_pin(spec))


def _pep508_list(out: _Collector, rel: str, where: str, items: Any) -> None:
    for item in _section(out, rel, items, where, list):
        if not isinstance(item, str):
            out.problem(rel, f"{where}: expected a requirement string, got {item!r}")
            continue
        try:
            _declare_requirement(out, rel, item)
        except InvalidRequirement as exc:
            out.problem(rel, f"{where}: invalid requirement {item!r}: {_first_line(exc)}")


def _declare_requirement(out: _Collector, rel: str, text: str) -> None:
    req = Requirement(text)
    if req.url:
        out.declare(req.name, "python", None, rel, None)
        return
    # The specifier as written: packaging's str() would reorder `>=2,<3` into `<3,>=2`.
    spec = text.split(";", 1)[0]
    spec = re.sub(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?", "", spec)
    spec = re.sub(r"\s+", "", spec).removeprefix("(").removesuffix(")")
    out.declare(req.name, "python", spec or None, rel, _pep440_pin(req.specifier))


def _pep440_pin(specifier: SpecifierSet) -> str | None:
    """The exact version of a lone `==` / `===` pin (not a `==1.2.*` wildcard)."""
    specs = list(specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _poetry_spec(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("version")
    # A list holds per-marker alternatives; no single specifier describes it.
    return value.strip() if isinstance(value, str) else None


def _poetry_pin(spec: str | None) -> str | None:
    """Poetry reads a bare version as an exact pin, like `==`."""
    if not spec or spec.startswith("==="):
        return None
    text = spec.removeprefix("==").strip()
    try:
        Version(text)
    except (InvalidVersion, ValueError):
        return None
    return text


_COMMENT = re.compile(r"(^|\s)#.*$")
_URLISH = re.compile(r"^(?:[./~\\]|[A-Za-z][A-Za-z0-9+.-]*:)")
_TRAILING_OPTIONS = re.compile(r"\s+--?[A-Za-z].*$")


def _requirements(out: _Collector, rel: str, text: Any) -> None:
    for number, line in _logical_lines(text):
        line = _COMMENT.sub("", line).strip()
        if not line or line.startswith("-") or _URLISH.match(line):
            continue  # options (-r, -c, -e, --index-url, ...) and URLs / paths
        line = _TRAILING_OPTIONS.sub("", line)  # `foo==1.0 --hash=sha256:...`
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            out.problem(rel, f"line {number}: invalid requirement {line!r}: {_first_line(exc)}")
            continue
        if not req.url:
            _declare_requirement(out, rel, line)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with its first line number."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append((start, pending + raw))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def _toml_lock(out: _Collector, rel: str, data: Any) -> None:
    packages = _mapping(data, "top level").get("package", [])
    if not isinstance(packages, list):
        raise _Bad("package: expected an array of tables")
    for entry in packages:
        if not isinstance(entry, dict):
            continue
        name, version, source = entry.get("name"), entry.get("version"), entry.get("source")
        if isinstance(source, dict) and "." in (source.get("editable"), source.get("virtual")):
            continue  # uv.lock lists the project itself
        if isinstance(name, str) and isinstance(version, str):
            out.lock(name, "python", version, rel)
