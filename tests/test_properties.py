"""Property-based tests of every parser that takes outside input (issue 19).

Page frontmatter, issue JSON, manifests and lockfiles, version ranges and package names,
run records as the reports load them, experimentos.toml, and the CLI over generated files:
thousands of generated inputs each, and for every one only a domain error or problem (never a
traceback) and nothing written outside the knowledge root. Each crash these found is pinned
with an `@example`. (Run records, event lines, matrix specs and fixture manifests as the matrix
reads them are in test_properties_matrix.py.)

Crashes found (each fixed and kept as an example): a YAML int of 4,300+ digits and a date like
2026-02-30 in frontmatter, a pnpm lockfile or experimentos.toml (ValueError); a 5,000-digit
issue number and JSON 200,000 deep (ValueError, RecursionError); version parts int() refuses
(npm ranges and packaging); TOML nested deeper than the recursion limit in experimentos.toml;
records whose measures overflow fsum (OverflowError, `-inf + inf in fsum`), and a BCa interval
over values so small their squares underflow (ZeroDivisionError in stats.resample).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from experimentos.errors import InvalidPage, UsageError

from .test_markdown_escape import injections

MANY = settings(
    max_examples=2000,
    deadline=None,
    database=None,  # write nothing next to the project
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SOME = settings(MANY, max_examples=400)
FEW = settings(MANY, max_examples=150)  # each example builds and renders a whole report
CLI = settings(MANY, max_examples=20)  # each example runs four CLI commands on a new root

HUGE = "9" * 5000
# Scalars that have broken parsers: Python refuses to convert them, they nest, they escape.
HOSTILE_TEXT = [
    HUGE,
    "-" + HUGE,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "0x" + "f" * 5000,
    "1." + HUGE,
    "2026-02-30",
    "2026-99-99T25:61:61Z",
    "../../x",
    "/etc/passwd",
    "\x00",
    "\u202e",
    "<img src=x onerror=alert(1)>",
    "@octocat",
    "x\n## Regression: none",
    "<!--",
    ">=0.30 <; rm -rf /",
    "[" * 300,
    "{" * 300,
    "~" * 200,
    "*" * 200,
    "||" * 100,
    "1.2.3-" + "a." * 200,
    "v" * 300,
    "",
    " ",
]
hostile = st.sampled_from(HOSTILE_TEXT)
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF), max_size=30
)
texts = st.one_of(words, hostile)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1.7e308, -1.7e308, 10**15, 10**15 + 1, 2**63]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
VERSION_BITS = st.sampled_from(
    ["0", "1", "2", "10", "0.31", "1.2.3", "0.31.0", "1.0.0-beta.2", "2.0.0rc1", "1.x", "*",
     "99999999999999999", "1." + "9" * 40, "v1.2.3", "1.2.3+build", "1!2.0", "1.2.post1"]
)  # fmt: skip
OPERATORS = st.sampled_from(["", ">=", "<=", ">", "<", "=", "==", "===", "!=", "~=", "^", "~"])
version_like = st.one_of(
    st.builds(lambda op, v: f"{op}{v}", OPERATORS, VERSION_BITS),
    st.builds(lambda a, b: f"{a} {b}", VERSION_BITS, VERSION_BITS),
    st.builds(lambda a, b: f">={a},<{b}", VERSION_BITS, VERSION_BITS),
    st.builds(lambda a, b: f"{a} || {b}", VERSION_BITS, VERSION_BITS),
    st.builds(lambda a, b: f"{a} - {b}", VERSION_BITS, VERSION_BITS),
    texts,
)


def dump_json(value) -> str:  # noqa: ANN001
    """JSON as a hostile writer would write it: NaN and Infinity included."""
    return json.dumps(value, allow_nan=True)


def tree_outside(sandbox: Path, root: Path) -> set[str]:
    """Every path under `sandbox` that is not under `root`: what a run may not touch."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(sandbox):
        here = Path(dirpath)
        if here == root or root in here.parents:
            dirnames[:] = []
            continue
        out.update(str(here / name) for name in dirnames + filenames if here / name != root)
    return out


# --- page frontmatter (store/documents.py, store/yamlio.py) ---------------------------------

FRONTMATTER_KEYS = ["id", "type", "title", "status", "confidence", "summary", "appliesTo",
                    "dependsOn", "cites", "review", "expires", "tags", "validatedBy"]  # fmt: skip
YAML_SCALARS = st.one_of(
    hostile,
    st.sampled_from(
        ["~", "null", "yes", "on", "0o777", "0b101", "1_000", "190:20:30", ".inf", ".nan",
         "!!binary aGk=", "!!python/object:os.system", "&a [*a]", "*a", "!!timestamp 2001-13-01",
         "2001-12-14t21:59:43.10-05:00", "[1, 2", "{a: 1", "'", '"', "|", ">", "- x", "? x",
         "!!int 1.5", "!!float abc", "!!set {a, b}", "!!omap [a: 1]", "!!str", "%YAML 1.1"]
    ),
    words,
)  # fmt: skip


def page_head(page_id: str = "claim.x", page_type: str = "claim") -> dict:
    return {"id": page_id, "type": page_type, "title": "T"}


@settings(MANY, max_examples=600)  # recursive values dumped and parsed as YAML: a slow one
@given(
    data=st.dictionaries(
        st.sampled_from(FRONTMATTER_KEYS) | words, json_like.filter(lambda v: True), max_size=8
    ),
    body=words,
    keep_head=st.booleans(),
)
@example(data={"expires": 10**400}, body="", keep_head=True)
@example(data={"cites": [{"path": "a.py", "lines": HUGE, "sha256": "0" * 64}]}, body="",
         keep_head=True)  # fmt: skip
def test_page_frontmatter_from_generated_mappings_is_a_page_or_invalid(data, body, keep_head):
    from experimentos.store.documents import parse_document

    if keep_head:
        data = {**page_head(), **data}
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, ValueError, OverflowError):
        return  # PyYAML cannot write it: nothing to parse
    raw = f"---\n{text}---\n{body}".encode("utf-8", "surrogatepass")
    try:
        parse_document(raw, "wiki/claims/x.md")
    except InvalidPage as exc:
        assert exc.problems and all(p.path == "wiki/claims/x.md" for p in exc.problems)


@MANY
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(FRONTMATTER_KEYS) | words, YAML_SCALARS), max_size=6
    ),  # fmt: skip
    raw_tail=st.binary(max_size=40),
)
@example(lines=[("expires", HUGE)], raw_tail=b"")
@example(lines=[("expires", "2026-02-30")], raw_tail=b"")
@example(lines=[("tags", "[" * 300)], raw_tail=b"")
def test_page_frontmatter_from_hostile_yaml_text_is_a_page_or_invalid(lines, raw_tail):
    from experimentos.store.documents import parse_document

    head = "id: claim.x\ntype: claim\ntitle: T\n"
    text = head + "".join(f"{key}: {value}\n" for key, value in lines)
    raw = b"---\n" + text.encode("utf-8", "surrogatepass") + b"---\n" + raw_tail
    try:
        parse_document(raw, "wiki/claims/x.md")
    except InvalidPage as exc:
        assert exc.problems


@MANY
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode()))
def test_any_bytes_as_a_page_file_are_a_page_or_invalid(raw):
    from experimentos.store.documents import parse_document

    for candidate in (raw, b"---\n" + raw + b"\n---\n", b"---\nid: claim.x\n" + raw + b"\n---\n"):
        with contextlib.suppress(InvalidPage):
            parse_document(candidate, "wiki/claims/x.md")


# --- issue JSON (lifecycle/ingest) ----------------------------------------------------------

ADVICE = st.sampled_from(
    ["Downgrading drizzle-kit to 0.30.6 fixed it for me.", "Fixed in drizzle-kit 0.31.2, please "
     "upgrade.", "pin urllib3<2", "You can pass `--legacy-peer-deps` to npm install.",
     "Same here on 0.31.1", "`foo()` has been renamed to `bar()`.", "pip install pandas==2.0.1",
     "I'd recommend pinning numpy to 1.26.4.", "works on 1.2.3", "### What version of `x` are "
     "you using?\n\n0.31.0", "upgrade to " + "9" * 60, "broken since v" + "1." * 100,
     "> quoted advice: upgrade to 2.0.0", "```\nnpm i x@1.2.3\n```", "@maintainer please",
     "drizzle-kit@" + HUGE, "react (19.0.0)", "python 3.11", "Bump it to the latest version."]
)  # fmt: skip
bodies = st.lists(st.one_of(ADVICE, texts, VERSION_BITS), max_size=6).map(" ".join)
user = st.one_of(
    st.fixed_dictionaries({"login": texts}),
    st.none(),
    json_like,
)
ASSOCIATION = st.sampled_from(["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE"]) | texts
DATES = st.sampled_from(["2025-01-01T00:00:00Z", "2025-03-04T10:00:00Z", ""]) | texts
ISSUE_URLS = st.one_of(
    st.builds(lambda n: f"https://github.com/o/r/issues/{n}", st.integers(-5, 10**12)),
    st.builds(lambda n: f"https://api.github.com/repos/o/r/issues/{n}", st.integers(0, 10**9)),
    st.just(f"https://github.com/o/r/issues/{HUGE}"),
    texts,
)
comment = st.fixed_dictionaries(
    {"body": bodies | json_like, "user": user, "created_at": DATES},
    optional={"author_association": ASSOCIATION, "html_url": texts | json_like},
)
rest_issue = st.fixed_dictionaries(
    {"html_url": ISSUE_URLS, "title": texts | json_like, "body": bodies | json_like,
     "state": st.sampled_from(["open", "closed"]) | texts, "user": user},
    optional={"state_reason": st.sampled_from(["completed", "not_planned"]) | json_like,
              "labels": st.lists(st.fixed_dictionaries({"name": texts}) | texts, max_size=3)
              | json_like, "author_association": ASSOCIATION, "comments": json_like,
              "url": ISSUE_URLS},
)  # fmt: skip
rest_payload = st.fixed_dictionaries(
    {"issue": rest_issue, "comments": st.lists(comment, max_size=5) | json_like}
)
gh_payload = st.fixed_dictionaries(
    {"url": ISSUE_URLS, "title": texts, "body": bodies, "state": st.sampled_from(["OPEN"]) | texts,
     "comments": st.lists(st.fixed_dictionaries({"author": user, "body": bodies,
                                                 "createdAt": DATES}), max_size=4)},
    optional={"labels": json_like, "stateReason": json_like, "createdAt": DATES},
)  # fmt: skip


@settings(MANY, max_examples=1500)  # advice extraction per example
@given(payload=rest_payload | gh_payload | json_like)
@example(payload={"issue": {"html_url": f"https://github.com/o/r/issues/{HUGE}", "title": "t"}})
@example(payload={"issue": {"url": "https://github.com/o/r/issues/1", "title": "t", "body":
                            "upgrade to " + "9" * 60}, "comments": []})  # fmt: skip
def test_issue_json_becomes_a_thread_and_pages_or_a_usage_error(payload):
    from experimentos.lifecycle.ingest import plan_ingest, read_payload
    from experimentos.repofacts.names import name_problem, range_problem

    try:
        thread = read_payload(dump_json(payload).encode(), "issue.json")
    except UsageError as exc:
        assert exc.path == "issue.json"
        return
    result, pages = plan_ingest(thread, today=dt.date(2026, 1, 5))
    assert pages[0].id == result.source
    # What reaches a page's appliesTo is a package name and a range its ecosystem can read.
    assert result.library is None or name_problem(result.library) is None
    assert result.range is None or range_problem(result.range) is None


@MANY
@given(raw=st.binary(max_size=400))
@example(raw=b"[" * 200_000)
@example(raw=b'{"issue": ' + b"[" * 5000 + b"}")
@example(raw=b'{"n": ' + HUGE.encode() + b"}")
def test_any_bytes_as_an_issue_payload_are_a_thread_or_a_usage_error(raw):
    from experimentos.lifecycle.ingest import read_payload

    with contextlib.suppress(UsageError):
        read_payload(raw, "issue.json")


@MANY
@given(library=texts | st.from_regex(r"@?[a-z0-9._~-]{1,20}(/[a-z0-9._~-]{1,20})?", fullmatch=True),
       version_range=version_like)  # fmt: skip
def test_library_and_range_options_are_taken_or_refused_naming_the_field(library, version_range):
    from experimentos.lifecycle.ingest import plan_ingest, read_payload
    from experimentos.lifecycle.ingest.run import check_scope_options

    try:
        check_scope_options(library, version_range)
    except UsageError as exc:
        assert exc.field in ("library", "range")
        return
    raw = Path(__file__).parent / "data/issues/drizzle-kit-default-regression.rest.json"
    thread = read_payload(raw.read_bytes(), "issue.json")
    result, _ = plan_ingest(
        thread, library=library, version_range=version_range, today=dt.date(2026, 1, 5)
    )
    assert result.library == library.strip() and result.range == version_range.strip()


# --- versions, ranges and names (repofacts) -------------------------------------------------


@MANY
@given(spec=version_like, version=version_like, ecosystem=st.sampled_from(["npm", "python", "x"]))
@example(spec=">=1." + HUGE, version="1.0.0", ecosystem="python")
@example(spec="^" + "9" * 4400, version="1.0.0", ecosystem="npm")
@example(spec=">=1", version="1." + HUGE + ".0", ecosystem="npm")
def test_version_matching_answers_true_false_or_unknown(spec, version, ecosystem):
    from experimentos.repofacts.names import name_problem, range_problem
    from experimentos.repofacts.versions import matches

    assert matches(spec, version, ecosystem) in (True, False, None)
    assert range_problem(spec) is None or isinstance(range_problem(spec), str)
    assert name_problem(version) is None or isinstance(name_problem(version), str)


# --- manifests and lockfiles (repofacts/facts.py) -------------------------------------------

names = st.one_of(
    st.sampled_from(["drizzle-kit", "@scope/pkg", "numpy", "Django", "zope.interface", "a_b"]),
    texts,
)
dependency_maps = st.dictionaries(names, version_like | json_like, max_size=4)
package_json = st.fixed_dictionaries(
    {}, optional={k: dependency_maps | json_like for k in
                  ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")},
)  # fmt: skip
package_lock = st.one_of(
    st.fixed_dictionaries(
        {"lockfileVersion": st.sampled_from([1, 2, 3]) | json_like,
         "packages": st.dictionaries(names.map(lambda n: f"node_modules/{n}"),
                                     st.fixed_dictionaries({"version": version_like | json_like}),
                                     max_size=4) | json_like}
    ),
    st.fixed_dictionaries(
        {"dependencies": st.dictionaries(names, st.fixed_dictionaries(
            {"version": version_like | json_like}), max_size=4) | json_like}
    ),
)  # fmt: skip


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)  # a JSON string is a TOML basic string


def toml_value(value) -> str:  # noqa: ANN001
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, str):
        return toml_string(value)
    return toml_string(str(value))


lock_packages = st.lists(st.tuples(names, version_like | numbers), max_size=4)
MANIFESTS = {
    "package.json": st.one_of(package_json.map(dump_json), json_like.map(dump_json), texts),
    "package-lock.json": st.one_of(package_lock.map(dump_json), json_like.map(dump_json), texts),
    "npm-shrinkwrap.json": package_lock.map(dump_json),
    "pnpm-lock.yaml": st.one_of(
        st.fixed_dictionaries(
            {"importers": st.fixed_dictionaries({".": st.fixed_dictionaries(
                {"dependencies": st.dictionaries(names, version_like | st.fixed_dictionaries(
                    {"version": version_like | numbers}), max_size=4)})})}
        ).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
        st.lists(st.tuples(names, YAML_SCALARS), max_size=4).map(
            lambda items: "dependencies:\n" + "".join(f"  {json.dumps(k)}: {v}\n" for k, v in items)
        ),
        texts,
    ),
    "poetry.lock": lock_packages.map(lambda pkgs: "".join(
        f"[[package]]\nname = {toml_string(n)}\nversion = {toml_value(v)}\n\n" for n, v in pkgs)),
    "uv.lock": st.one_of(lock_packages.map(lambda pkgs: "version = 1\n" + "".join(
        f"[[package]]\nname = {toml_string(n)}\nversion = {toml_value(v)}\n\n" for n, v in pkgs)),
        texts),
    "pyproject.toml": st.one_of(
        st.lists(version_like | names, max_size=4).map(
            lambda deps: "[project]\nname = \"x\"\ndependencies = ["
            + ", ".join(toml_string(d) for d in deps) + "]\n"),
        st.dictionaries(names, version_like, max_size=4).map(
            lambda deps: "[tool.poetry.dependencies]\n" + "".join(
                f"{toml_string(k)} = {toml_string(v)}\n" for k, v in deps.items())),
        st.sampled_from([f"n = {HUGE}\n", "a = " + "[" * 5000 + "]" * 5000 + "\n",
                         "d = 2026-02-30\n", "x = inf\n"]),
        texts,
    ),
    "requirements.txt": st.lists(st.one_of(
        st.builds(lambda n, v: f"{n}{v}", names, version_like), texts,
        st.sampled_from(["-e .", "--index-url x", "git+https://x/y.git#egg=y", "# comment",
                         "x @ file:///etc/passwd", "-r ../../other.txt", "-c /etc/shadow"])),
        max_size=5).map("\n".join),
}  # fmt: skip


@settings(MANY, max_examples=1200)  # files written and read per example
@given(files=st.dictionaries(st.sampled_from(sorted(MANIFESTS)), st.none(), min_size=1,
                             max_size=4).flatmap(lambda keys: st.fixed_dictionaries(
                                 {k: MANIFESTS[k] for k in keys})))  # fmt: skip
@example(files={"package.json": '{"dependencies": {"a": "1"}, "n": ' + HUGE + "}"})
@example(files={"pyproject.toml": f"n = {HUGE}\n"})
@example(files={"pnpm-lock.yaml": "d: 2026-02-30\n"})
def test_manifests_and_lockfiles_give_facts_and_problems_never_a_traceback(files):
    from experimentos.models.knowledge import AppliesTo
    from experimentos.repofacts.facts import read_local_facts
    from experimentos.repofacts.versions import MatchContext, applies

    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(tmp)
        repo = sandbox / "repo"
        repo.mkdir()
        for name, text in files.items():
            (repo / name).write_bytes(text.encode("utf-8", "surrogatepass"))
        before = tree_outside(sandbox, repo)
        facts = read_local_facts(repo)
        assert tree_outside(sandbox, repo) == before
    for key, entry in list(facts.versions.items())[:3]:
        context = MatchContext(libraries=[entry.name], local=facts)
        applies(AppliesTo(library=entry.name, versions=">=1.0,<2"), context)
        applies(AppliesTo(library=key, versions="^0.31 || 2.x"), context)


# --- run records as the reports load them (reports/rows.py, analysis, render) ----------------


def base_record(n: int = 1, **matrix) -> dict:
    started = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    return {
        "id": f"run.m.r{n}",
        "experiment": "experiment.e",
        "task": "Fix it",
        "agent": "a1",
        "condition": "brief" if n % 2 else "none",
        "status": "finished",
        "outcome": "success",
        "started": started,
        "ended": started + dt.timedelta(seconds=30),
        "matrix": {
            "id": "m", "cell": f"f1/c/a1/{n}", "cellHash": "sha256:c", "specHash": "sha256:s",
            "fixture": "f1", "fixtureHash": "sha256:f", "adapter": "codex", "repeat": n,
            "timeLimitSeconds": 60.0, "oracle": {"exitCode": 0, "passed": True},
            "usage": {"tokensIn": 1000, "tokensOut": 100, "costUsd": 0.1, "wallSeconds": 5.0},
            "rules": {"broken": []}, "diff": {"lines_added": 1, "lines_removed": 1},
            **matrix,
        },
    }  # fmt: skip


RECORD_FIELDS = ["agent", "condition", "status", "outcome", "task", "model", "started", "ended",
                 "knowledgeCommit", "metrics", "id", "experiment"]  # fmt: skip
MATRIX_FIELDS = ["id", "cell", "fixture", "adapter", "repeat", "attempt", "timeLimitSeconds",
                 "agentVersion", "reason", "oracle", "usage", "rules", "diff", "transcript",
                 "knowledge", "agentProcess", "timings", "groundTruth",
                 "previousAttempts"]  # fmt: skip
USAGE = st.fixed_dictionaries(
    {}, optional={k: numbers | json_like for k in
                  ("tokensIn", "tokensOut", "costUsd", "wallSeconds", "turns")}
)  # fmt: skip


def record_text(data: dict) -> bytes:
    from experimentos.store.yamlio import dump_yaml

    return f"---\n{dump_yaml(data)}---\nsummary\n".encode("utf-8", "surrogatepass")


@settings(MANY, max_examples=1000)  # YAML out and back, metrics, a row
@given(
    top=st.dictionaries(st.sampled_from(RECORD_FIELDS), json_like, max_size=3),
    block=st.dictionaries(st.sampled_from(MATRIX_FIELDS), json_like | USAGE, max_size=3),
    usage=USAGE,
    events=st.lists(json_like.map(dump_json) | texts, max_size=4).map("\n".join),
)
@example(top={}, block={}, usage={"tokensIn": int("9" * 400), "wallSeconds": 1.7e308},
         events="")  # fmt: skip
@example(top={}, block={}, usage={}, events='{"step": 1, "payload": ' + "[" * 5000 + "}")
def test_a_run_record_is_a_row_or_an_unreadable_row(top, block, usage, events):
    from experimentos.reports.rows import row_from_bytes

    data = base_record()
    data.update(top)
    if isinstance(data.get("matrix"), dict):
        data["matrix"].update(block)
        if usage:
            data["matrix"]["usage"] = usage
    try:
        raw = record_text(data)
    except (yaml.YAMLError, ValueError, OverflowError, TypeError):
        return
    row = row_from_bytes("e", "experiments/e/runs/run.m.r1.md", raw, events.encode(
        "utf-8", "surrogatepass"))  # fmt: skip
    assert row is None or row.status in ("finished", "failed", "aborted", "running", "unreadable")


@FEW
@given(
    values=st.lists(
        st.tuples(
            st.sampled_from(["tokensIn", "tokensOut", "costUsd", "wallSeconds"]),
            numbers,
            st.booleans(),
            texts,
        ),  # fmt: skip
        min_size=2,
        max_size=10,
    )
)
@example(values=[("wallSeconds", 1.7e308, True, "a"), ("wallSeconds", 1.7e308, False, "b")])
@example(values=[("wallSeconds", v, True, "a") for v in (0.0, 0.0, 1.1335217193997253e-137,
                                                          1.1335217193997253e-137)])  # fmt: skip
@example(values=[("costUsd", float("-inf"), True, "a"), ("costUsd", float("inf"), True, "a")])
@example(values=[("tokensIn", 10**15, True, "a"), ("tokensIn", -(10**15), False, "b")])
def test_reports_build_from_any_mix_of_records(values):
    from experimentos.reports.render import render_report
    from experimentos.reports.results import MatrixData, analyze
    from experimentos.reports.rows import row_from_bytes

    rows = []
    for n, (field, value, passed, name) in enumerate(values, start=1):
        data = base_record(n)
        data["matrix"]["usage"][field] = value
        data["matrix"]["oracle"] = {"exitCode": 0 if passed else 1, "passed": passed}
        data["agent"] = name if n % 3 == 0 else "a1"
        data["matrix"]["reason"] = name
        try:
            raw = record_text(data)
        except (yaml.YAMLError, ValueError, OverflowError):
            continue
        row = row_from_bytes("e", f"experiments/e/runs/run.m.r{n}.md", raw, b"")
        if row is not None:
            rows.append(row)
    if not rows:
        return
    results = analyze(MatrixData(matrix_id="m", experiment="e", rows=rows), "r.md")
    text = render_report(results)
    assert injections(text.split("\n---\n", 1)[1], allowed_html=("<svg",)) == []


# --- experimentos.toml ----------------------------------------------------------------------

CONFIG_LINES = st.one_of(
    st.sampled_from(["format = 1", "format = 2", "[index]", "embedder = \"none\"",
                     "max_seq_length = 64", f"max_seq_length = {HUGE}", "max_windows = -1",
                     "fusion = \"rrf\"", "[proposals]", "base = \"main\"", "[server]",
                     "allowed_hosts = [\"x\"]", "max_proposals = 1e999", "x = " + "[" * 3000,
                     "d = 2026-02-30", "[[index]]", "t = 1979-05-27T07:32:00Z", "= 1"]),
    st.builds(lambda k, v: f"{k} = {v}", st.sampled_from(["format", "embedder", "base",
              "max_windows", "fusion"]), st.one_of(numbers.map(str), texts.map(json.dumps))),
    texts,
)  # fmt: skip


@MANY
@given(lines=st.lists(CONFIG_LINES, max_size=8))
@example(lines=["[index]", f"max_seq_length = {HUGE}"])
@example(lines=["a = " + "[" * 5000 + "]" * 5000])
@example(lines=["d = 2026-02-30"])
def test_experimentos_toml_is_a_config_or_a_usage_error_naming_it(lines):
    from experimentos.store.workspace import load_config

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "experimentos.toml").write_text("\n".join(lines) + "\n", encoding="utf-8",
                                                errors="surrogatepass")  # fmt: skip
        try:
            load_config(root)
        except UsageError as exc:
            assert exc.path is not None and exc.path.endswith("experimentos.toml")


def test_a_config_file_that_links_out_of_the_root_or_blocks_is_refused(tmp_path):
    from experimentos.store.workspace import load_config

    outside = tmp_path / "outside.toml"
    outside.write_text("format = 1\n", encoding="utf-8")
    root = tmp_path / "kb"
    root.mkdir()
    (root / "experimentos.toml").symlink_to(outside)
    with pytest.raises(UsageError, match="outside"):
        load_config(root)
    (root / "experimentos.toml").unlink()
    os.mkfifo(root / "experimentos.toml")
    with pytest.raises(UsageError, match="not a regular file"):
        load_config(root)


# --- the CLI over generated files: only problems, nothing written outside the root ----------


@CLI
@given(
    page=st.lists(st.tuples(st.sampled_from(FRONTMATTER_KEYS), YAML_SCALARS), max_size=4),
    record=st.dictionaries(st.sampled_from(MATRIX_FIELDS), json_like | USAGE, max_size=3),
    payload=rest_payload,
)
def test_the_cli_reports_problems_and_writes_nothing_outside_the_root(page, record, payload):
    from typer.testing import CliRunner

    from experimentos.cli import app
    from experimentos.store.scaffold import init_workspace

    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Path(tmp)
        root = sandbox / "kb"
        init_workspace(root)
        (root / "experimentos.toml").write_text('[index]\nembedder = "none"\n', encoding="utf-8")
        (sandbox / "elsewhere").mkdir()
        head = "id: claim.x\ntype: claim\ntitle: T\n"
        text = head + "".join(f"{k}: {v}\n" for k, v in page)
        (root / "wiki" / "claims").mkdir(parents=True, exist_ok=True)
        (root / "wiki/claims/x.md").write_bytes(f"---\n{text}---\nbody\n".encode(
            "utf-8", "surrogatepass"))  # fmt: skip
        data = base_record()
        data["matrix"].update(record)
        (root / "experiments/e/runs").mkdir(parents=True)
        (root / "experiments/e/README.md").write_text(
            "---\nid: experiment.e\nname: E\nkind: agent\ncreated: 2026-01-01T00:00:00Z\n---\n",
            encoding="utf-8",
        )
        with contextlib.suppress(yaml.YAMLError, ValueError, OverflowError, TypeError):
            (root / "experiments/e/runs/run.m.r1.md").write_bytes(record_text(data))
        (sandbox / "issue.json").write_text(dump_json(payload), encoding="utf-8")
        before = tree_outside(sandbox, root)
        for args in (
            ["check", "--json"],
            ["report", "build", "--json"],
            ["report", "summary"],
            ["ingest", "issue", str(sandbox / "issue.json"), "--dry-run", "--json"],
        ):
            result = runner.invoke(app, ["--root", str(root), *args])
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                args,
                repr(result.exception),
            )
            assert result.exit_code in (0, 1, 2), (args, result.output)
        assert tree_outside(sandbox, root) == before
