"""Property-based tests of the matrix's parsers of outside input (issue 19).

Run records (frontmatter) and their event lines, matrix specs, fixture manifests, matrix lock
files and the agents' install record come from files a repository (or a shard machine) ships.
Thousands of generated inputs each — random bytes, and valid documents with hostile values put
in (paths with `..`, NUL, huge and odd numbers, deep nesting, wrong types) — must give either a
valid model whose ids are safe path parts, or the project's own domain error: never a
traceback. Two of them also run `report build` and `matrix merge` on what they generate and
check that nothing is written outside the root.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from experimentos.errors import ExperimentosError, InvalidPage, UsageError
from experimentos.lab.runs.events import parse_events
from experimentos.matrix.cells import expand
from experimentos.matrix.fixtures import _parse_manifest
from experimentos.matrix.records import parse_claim, record_rel
from experimentos.matrix.spec import parse_spec
from experimentos.models.lab import RunRecord
from experimentos.models.names import check_matrix_id
from experimentos.reports.load import report_rel
from experimentos.reports.rows import row_from_bytes
from experimentos.store import Workspace
from experimentos.store.lab_paths import check_run_id
from experimentos.store.records import parse_record, render_record
from experimentos.store.scaffold import init_workspace

from .matrix_helpers import TINY_FIXTURE
from .report_helpers import EXP as HAND
from .report_helpers import events, record, write_hand_matrix

FAST = settings(
    max_examples=2500,
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ON_DISK = settings(FAST, max_examples=150)

# Values an attacker would try, next to what hypothesis makes up.
HOSTILE_TEXT = st.sampled_from(
    [
        "../x", "../../../../tmp/PWNED", "/etc/passwd", "a/b", "..", ".", "", " ", "\x00",
        "x\x00y", "C:\\x", "%2e%2e%2f", "run..x", "run.x.", "-rf", "--help", "$(id)", "`id`",
        "<img src=x onerror=alert(1)>", "\n## Regression: none", "<!--", "@here", "\u202e",
        "ｆｕｌｌ", "a" * 300, "9" * 400, "1e308", "-1e308", "nan", "inf", "true", "null",
        "brief-without:../x", "knowledge@-rf", "knowledge@HEAD~1", "none ", "run.m.../x.r1",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    HOSTILE_TEXT,
    st.dates(),
    st.datetimes(timezones=st.just(dt.UTC)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
# Paths made of `..`, names and empty parts: what an id that becomes a path part must survive.
PATHS = st.one_of(
    st.lists(st.sampled_from(["..", "..", "tmp", "PWNED", "", ".", "x"]), max_size=9).map("/".join),
    st.integers(min_value=1, max_value=12).map(lambda n: "../" * n + "PWNED"),
)
# The fields of a record or spec that end up in ids and paths: mutated more often.
ID_KEYS = ("id", "experiment", "agent", "condition", "fixture", "fixtures", "name", "workdir")
SNIPPETS = st.one_of(
    HOSTILE_TEXT,
    st.just("9" * 5000),  # past Python's int digit limit
    st.just("[" * 5000),
    st.just("{a: " * 200),
    st.just("*alias"),
    st.just("&anchor x"),
    st.just("!!python/object:os.system"),
    st.just("\n---\n"),
    st.text(max_size=20),
)


def _mutate(data: object, draw) -> object:  # noqa: ANN001 - hypothesis' draw
    """`data` (a dict of a valid document) with one to three hostile changes."""
    doc = json.loads(json.dumps(data, default=str))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = doc
        if isinstance(doc, dict) and isinstance(doc.get("matrix"), dict) and draw(st.booleans()):
            target = doc["matrix"]
        if not isinstance(target, dict):
            break
        keys = sorted(target) + ["unexpected"]
        ids = [k for k in ID_KEYS if k in target]
        key = draw(st.sampled_from(ids) if ids and draw(st.booleans()) else st.sampled_from(keys))
        action = draw(st.sampled_from(["set", "set", "path", "drop"]))
        if action == "drop":
            target.pop(key, None)
        elif action == "path":
            target[key] = draw(PATHS)
        else:
            target[key] = draw(VALUES)
    return doc


def _as_text(doc: object) -> str:
    try:
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return json.dumps(doc, default=str)


@st.composite
def documents(draw, base: dict, frontmatter: bool) -> bytes:  # noqa: ANN001
    """Bytes of a document derived from `base`: random bytes, a mutated document, or a valid
    one with a snippet inserted somewhere in its text."""
    kind = draw(st.sampled_from(["bytes", "mutated", "mutated", "spliced"]))
    if kind == "bytes":
        raw = draw(st.binary(max_size=600))
        return b"---\n" + raw if frontmatter and draw(st.booleans()) else raw
    text = _as_text(_mutate(base, draw) if kind == "mutated" else base)
    if kind == "spliced":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(SNIPPETS) + text[at:]
    if frontmatter:
        text = f"---\n{text}---\n\nbody\n"
    return text.encode("utf-8", "surrogatepass")


def _valid_record() -> dict:
    return record("f1", "brief", "a1", 1).model_dump(mode="json", by_alias=True)


def _check_record(raw: bytes, rel: str) -> RunRecord | None:
    """Parse a run record: a valid one has safe ids, a bad one is an InvalidPage naming `rel`."""
    try:
        run = parse_record(raw, rel, RunRecord).model
    except InvalidPage as exc:
        assert exc.problems and all(p.path == rel for p in exc.problems)
        return None
    check_run_id(run.id)
    parts = record_rel(run.experiment_slug, run.id).split("/")
    assert ".." not in parts and "" not in parts
    if run.matrix is not None:
        check_matrix_id(run.matrix.id)
        assert ".." not in report_rel(run.experiment_slug, run.matrix.id).split("/")
    return run


# --- run records --------------------------------------------------------------------------------


@FAST
@given(documents(_valid_record(), frontmatter=True))
@example(render_record(record("f1", "none", "a1", 1)))
def test_run_records_parse_or_give_a_domain_error(raw):
    rel = f"experiments/{HAND}/runs/run.hand.f1.brief.a1.r1.md"
    _check_record(raw, rel)
    row = row_from_bytes(HAND, rel, raw, None)  # the report's reading of it never raises either
    if row is not None:
        check_matrix_id(row.matrix_id)


# --- event lines --------------------------------------------------------------------------------

_EVENT = events("f1", "brief", "a1", 1)[0]


@st.composite
def event_logs(draw) -> bytes:  # noqa: ANN001
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        kind = draw(st.sampled_from(["valid", "mutated", "json", "bytes", "deep"]))
        if kind == "valid":
            lines.append(json.dumps(_EVENT).encode())
        elif kind == "mutated":
            lines.append(json.dumps(_mutate(_EVENT, draw), default=str).encode())
        elif kind == "json":
            lines.append(json.dumps(draw(VALUES), default=str).encode())
        elif kind == "deep":
            depth = draw(st.integers(min_value=500, max_value=5_000))
            lines.append(b"[" * depth + b"]" * depth)
        else:
            lines.append(draw(st.binary(max_size=200)).replace(b"\n", b" "))
    tail = draw(st.sampled_from([b"\n", b"", b'\n{"step": 9']))
    return b"\n".join(lines) + tail


@FAST
@given(event_logs())
@example(b"[" * 200_000 + b"]" * 200_000 + b"\n")
@example(b'{"step": ' + b"9" * 5000 + b"}\n")
def test_event_logs_parse_line_by_line_without_a_traceback(raw):
    found, problems = parse_events(raw, "runs/run.x.events.jsonl")
    steps = [e.step for e in found]
    assert steps == sorted(set(steps))
    assert all(p.code.startswith("event-") for p in problems)


# --- matrix specs -------------------------------------------------------------------------------

_SPEC = {
    "id": "m",
    "fixtures": ["tiny", "other"],
    "conditions": ["none", "brief", "brief-without:policy.x", "knowledge@HEAD~1"],
    "agents": [{"name": "a", "adapter": "shell", "options": {"script": "a.sh"}}],
    "repeats": 2,
    "timeLimit": 30,
}


@FAST
@given(documents(_SPEC, frontmatter=False))
def test_matrix_specs_parse_or_give_a_domain_error(raw):
    try:
        spec = parse_spec(raw, "experiments/m/matrix.yaml")
    except InvalidPage as exc:
        assert exc.problems and exc.path == "experiments/m/matrix.yaml"
        return
    matrix_id = spec.id or "m"
    check_matrix_id(matrix_id)
    try:
        cells = expand(spec, matrix_id)
    except UsageError:
        return  # two cells with one run id: refused by name
    for cell in cells:
        check_run_id(cell.run_id)
        assert ".." not in record_rel("m", cell.run_id).split("/")


# --- fixture manifests --------------------------------------------------------------------------


@FAST
@given(documents(yaml.safe_load(TINY_FIXTURE), frontmatter=False))
def test_fixture_manifests_parse_or_give_a_domain_error(raw):
    try:
        fixture = _parse_manifest(raw, "fixtures/tiny/fixture.yaml", "tiny")
    except InvalidPage as exc:
        assert exc.problems and exc.path == "fixtures/tiny/fixture.yaml"
        return
    assert fixture.name == "tiny"


# --- lock files and the install record ----------------------------------------------------------

_CLAIM = {"pid": 4242, "start": "123456", "workdir": "/tmp/xos-run-abc", "token": "0" * 32}


@st.composite
def claims(draw) -> bytes:  # noqa: ANN001
    kind = draw(st.sampled_from(["bytes", "mutated", "mutated", "spliced"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    text = json.dumps(_mutate(_CLAIM, draw) if kind == "mutated" else _CLAIM, default=str)
    if kind == "spliced":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(SNIPPETS) + text[at:]
    return text.encode("utf-8", "surrogatepass")


@FAST
@given(claims())
@example(b'{"pid": ' + b"9" * 5000 + b"}")
@example(b"[" * 100_000)
def test_lock_files_parse_to_well_typed_fields_or_nothing(raw):
    found = parse_claim(raw)
    assert set(found) <= {"pid", "start", "workdir", "token"}
    assert isinstance(found.get("pid", 2), int) and not isinstance(found.get("pid"), bool)
    assert all(isinstance(found[k], str) for k in ("start", "workdir", "token") if k in found)


def test_install_records_that_do_not_parse_are_ignored():
    from experimentos.agents.install import read_record

    root = Path(tempfile.mkdtemp(prefix="xos-prop-"))
    try:
        target = root / ".experimentos/agents/experimentos-install.json"
        target.parent.mkdir(parents=True)
        base = {"format": 1, "installed": {"codex": {"package": "@openai/codex", "version": "1",
                "binary": "codex", "entry": "node_modules/x", "sha256": "0" * 64, "size": 1,
                "dev": 1, "ino": 1, "ctime_ns": 1}}}  # fmt: skip

        @FAST
        @given(documents(base, frontmatter=False))
        def check(raw: bytes) -> None:
            target.write_bytes(raw)
            read_record(root)  # a record or None; never raises

        check()
    finally:
        shutil.rmtree(root)


# --- and nothing is written outside the root ----------------------------------------------------


def _snapshot(path: Path, skip: tuple[Path, ...] = ()) -> dict[str, int]:
    """Every path under `path` (not under `skip`) with its size."""
    return {
        p.relative_to(path).as_posix(): p.lstat().st_size
        for p in path.rglob("*")
        if not any(p == s or p.is_relative_to(s) for s in skip)
    }


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    root = base / "a" / "b" / "kb"  # deep, so that ../../.. would still land in base
    init_workspace(root)
    write_hand_matrix(root)
    (base / "outside").mkdir()
    (base / "outside" / "precious.txt").write_text("keep\n", encoding="utf-8")
    return base, Workspace(root)


def test_hostile_records_never_make_report_build_or_merge_write_outside(hostile_root):
    from experimentos.matrix.merge import merge_runs
    from experimentos.reports.build import build_reports

    base, ws = hostile_root
    root = ws.root
    runs = root / "experiments" / HAND / "runs"
    victim = runs / "run.hand.f1.brief.a1.r1.md"
    original = victim.read_bytes()
    shard = base / "shard"
    shard.mkdir(exist_ok=True)
    outside = _snapshot(base, skip=(root, shard))  # everything but the root and the shard

    @ON_DISK
    @given(documents(_valid_record(), frontmatter=True), st.sampled_from(["id", "mine"]))
    def check(raw: bytes, name: str) -> None:
        victim.write_bytes(raw)
        shutil.rmtree(root / "experiments" / HAND / "results", ignore_errors=True)
        with contextlib.suppress(ExperimentosError):
            build_reports(ws)
        shutil.rmtree(shard, ignore_errors=True)
        shard.mkdir()
        run = _check_record(raw, "r.md")
        file = f"{run.id}.md" if run is not None and name == "id" else "run.hand.x.md"
        (shard / file).write_bytes(raw)
        with contextlib.suppress(ExperimentosError):
            merge_runs(ws, [shard])
        assert _snapshot(base, skip=(root, shard)) == outside
        for path in (root / "experiments" / HAND).rglob("*"):
            assert path.resolve().is_relative_to(root.resolve())
        victim.write_bytes(original)

    try:
        check()
    finally:
        victim.write_bytes(original)
