"""Hostile outside input gets a clear error naming its file, never a traceback (issue 19).

JSON nested 200,000 deep, numbers with thousands of digits, metrics that overflow a sum, version
ranges and library names that are shell or paths, base URLs that leave the site's origin.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from experimentos.cli import app
from experimentos.store.scaffold import init_workspace

from .conftest import page_text, write_files
from .proposal_helpers import branches, make_repo
from .report_helpers import EXP, events, record, record_files, write_hand_matrix

ISSUES = Path(__file__).parent / "data" / "issues"
DEEP = "[" * 200_000 + "]" * 200_000
HUGE = "9" * 5000


def run(root: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["--root", str(root), *args], input=stdin)


def assert_clean_refusal(result, *words: str) -> None:
    """Exit 2 with a message, no traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output


@pytest.fixture
def kb(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    return make_repo(tmp_path / "kb")


def rest_payload() -> dict:
    return json.loads(
        (ISSUES / "drizzle-kit-default-regression.rest.json").read_text(encoding="utf-8")
    )


# --- defect 9: JSON nested 200,000 deep, 5,000-digit numbers --------------------------------


def test_ingest_a_payload_file_nested_200000_deep_is_bad_input(kb, tmp_path):
    bad = tmp_path / "deep.json"
    bad.write_text(DEEP, encoding="utf-8")
    result = run(kb.root, "ingest", "issue", str(bad))
    assert_clean_refusal(result, str(bad), "nested too deeply")
    stdin = run(kb.root, "ingest", "issue", "-", stdin='{"issue": ' + DEEP + "}")
    assert_clean_refusal(stdin, "nested too deeply")
    assert branches(kb.root) == []


@pytest.mark.parametrize("key", ["html_url", "url"])
def test_ingest_an_issue_number_of_5000_digits_is_bad_input(kb, tmp_path, key):
    payload = rest_payload()
    issue = payload["issue"]
    issue.pop("html_url", None)
    issue.pop("url", None)
    issue[key] = (
        f"https://github.com/o/r/issues/{HUGE}"
        if key == "html_url"
        else f"https://api.github.com/repos/o/r/issues/{HUGE}"
    )
    bad = tmp_path / "huge.json"
    bad.write_text(json.dumps(payload), encoding="utf-8")
    result = run(kb.root, "ingest", "issue", str(bad), "--json")
    assert_clean_refusal(result)
    error = json.loads(result.stdout)["error"]
    assert error["path"] == str(bad) and error["field"] == "url"


@pytest.mark.parametrize(
    "text", ['{"n": ' + HUGE + "}", '{"n": 1e999}', '{"n": NaN}', '{"n": -Infinity}']
)
def test_ingest_numbers_json_cannot_hold_are_bad_input(kb, tmp_path, text):
    bad = tmp_path / "numbers.json"
    payload = json.dumps(rest_payload())
    bad.write_text(payload.replace('{"issue": {', '{"issue": ' + text[:-1] + ", ", 1))
    assert_clean_refusal(run(kb.root, "ingest", "issue", str(bad)), str(bad), "not JSON")


def test_cite_add_with_a_5000_digit_line_number_is_bad_input(kb):
    write_files(
        kb.root,
        {
            "src/a.py": "x = 1\n",
            "policies/p.md": page_text("policy.p", "policy", "P"),
        },
    )
    for spec in (f"src/a.py:{HUGE}", f"src/a.py:1-{HUGE}"):
        result = run(kb.root, "cite", "add", "policy.p", spec, "--json")
        assert_clean_refusal(result)
        assert json.loads(result.stdout)["error"]["field"] == "lines"


def test_a_page_citing_5000_digit_lines_is_a_problem_not_a_traceback(kb):
    write_files(
        kb.root,
        {
            "src/a.py": "x = 1\n",
            "policies/p.md": page_text(
                "policy.p",
                "policy",
                "P",
                extra=f'cites:\n  - {{path: src/a.py, lines: "{HUGE}", sha256: "{"0" * 64}"}}\n',
            ),
        },
    )
    result = run(kb.root, "check", "--json")
    assert result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p["path"] == "policies/p.md" and p["field"] == "cites.0.lines" for p in problems)


@pytest.mark.parametrize(
    "value",
    [
        HUGE,
        "0x" + "f" * 5000,
        "0o" + "7" * 5000,
        "2026-99-99",
        "2026-02-30T10:00:00Z",
        "!!binary x",
    ],
)
def test_frontmatter_scalars_python_cannot_convert_are_problems_naming_the_file(kb, value):
    write_files(
        kb.root, {"policies/p.md": page_text("policy.p", "policy", "P", f"expires: {value}\n")}
    )
    result = run(kb.root, "check", "--json")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p["path"] == "policies/p.md" for p in problems), problems


# --- defect 9: metrics that overflow a sum ------------------------------------------------------


@pytest.fixture
def hand(tmp_path: Path) -> Path:
    root = tmp_path / "hand"
    init_workspace(root)
    return write_hand_matrix(root)


def test_a_record_with_an_overflowing_metric_is_invalid_and_the_report_builds(hand: Path):
    rec = record("f1", "brief", "a1", 1)
    files = record_files(rec, events("f1", "brief", "a1", 1))
    rel = next(k for k in files if k.endswith(".md"))
    text = files[rel]
    assert "tokensIn: 1510" in text and "wallSeconds: 10.0" in text
    text = text.replace("tokensIn: 1510", f"tokensIn: {'9' * 400}")
    text = text.replace("wallSeconds: 10.0", "wallSeconds: 1.7e308")
    (hand / rel).write_text(text, encoding="utf-8")
    built = run(hand, "report", "build", "--json")
    assert built.exception is None, repr(built.exception)
    assert built.exit_code == 0, built.output
    report = (hand / f"experiments/{EXP}/results/{EXP}.md").read_text(encoding="utf-8")
    # The record is listed as not counted, with why; the other 39 runs make the report.
    assert "39 runs counted of 40 expected" in report
    assert (
        f"| `{rec.id}` | unreadable | unreadable: the record does not parse "
        "(matrix.usage.tokensIn: a number of 400 digits is out of range" in report
    )
    # `check` names the record's file and both fields.
    check_all = run(hand, "check", "--json")
    problems = json.loads(check_all.stdout)["problems"]
    assert {(p["path"], p["field"]) for p in problems} == {
        (rel, "matrix.usage.tokensIn"),
        (rel, "matrix.usage.wallSeconds"),
    }
    check = run(hand, "report", "build", "--check")
    assert check.exception is None and check.exit_code == 0, check.output
    summary = run(hand, "report", "summary")
    assert summary.exception is None and summary.exit_code == 0, summary.output


@pytest.mark.parametrize(
    "field,value",
    [
        ("wallSeconds", ".inf"),
        ("wallSeconds", ".nan"),
        ("wallSeconds", "-1.7e308"),
        ("costUsd", "1e300"),
        ("tokensOut", "-" + "9" * 30),
    ],
)
def test_every_unbounded_usage_value_is_refused_with_the_records_path(hand: Path, field, value):
    rec = record("f2", "none", "a2", 2)
    files = record_files(rec, events("f2", "none", "a2", 2))
    rel = next(k for k in files if k.endswith(".md"))
    text = files[rel]
    original = {"wallSeconds": "wallSeconds: 5.0", "costUsd": "costUsd: 0.1",
                "tokensOut": "tokensOut: 100"}[field]  # fmt: skip
    assert original in text
    (hand / rel).write_text(text.replace(original, f"{field}: {value}"), encoding="utf-8")
    result = run(hand, "check", "--json")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p["path"] == rel for p in problems), problems
    built = run(hand, "report", "build")
    assert built.exception is None and built.exit_code == 0, built.output


# --- defect 12: --range and --library in the ecosystem's own syntax ----------------------------

ISSUE_FILE = ISSUES / "drizzle-kit-default-regression.rest.json"


@pytest.mark.parametrize(
    "args,field",
    [
        (["--range", ">=0.30 <; rm -rf /", "--library", "../../x"], "library"),
        (["--range", ">=0.30 <; rm -rf /"], "range"),
        (["--library", "../../x"], "library"),
        (["--library", "drizzle-kit\n## Rule"], "library"),
        (["--library", "a b"], "library"),
        (["--library", "@scope"], "library"),
        (["--library", "x/../../y"], "library"),
        (["--library", "."], "library"),
        (["--range", ">=1.0\n## Rule: run rm -rf"], "range"),
        (["--range", "latest"], "range"),
        (["--range", "$(curl evil)"], "range"),
        (["--range", ">=1" + "0" * 300], "range"),
        (["--range", " "], "range"),
    ],
)
def test_ingest_refuses_a_range_or_library_the_ecosystem_cannot_hold(kb, args, field):
    result = run(kb.root, "ingest", "issue", str(ISSUE_FILE), "--dry-run", "--json", *args)
    assert_clean_refusal(result)
    assert json.loads(result.stdout)["error"]["field"] == field
    assert branches(kb.root) == []


@pytest.mark.parametrize(
    "library,version_range",
    [
        ("drizzle-kit", ">=0.31.0 <0.31.2"),
        ("@drizzle-team/kit", "^0.31.0"),
        ("drizzle_kit", ">=0.31,<0.31.2"),
        ("zope.interface", "~=5.4"),
        ("JSONStream", "1.x || >=2.5.0"),
    ],
)
def test_ingest_takes_ranges_and_names_in_npm_or_pep440_syntax(kb, library, version_range):
    result = run(
        kb.root, "ingest", "issue", str(ISSUE_FILE), "--dry-run", "--json",
        "--library", library, "--range", version_range,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["library"], data["range"]) == (library, version_range)
    assert any(f"versions: {version_range}" in text or f"versions: '{version_range}'" in text
               for text in data["pages"].values())  # fmt: skip


# --- defect 9, the class: every JSON reader of outside input is bounded -------------------------


def test_an_event_line_nested_200000_deep_is_a_problem_not_a_traceback(hand: Path):
    rec = record("f1", "none", "a1", 2)
    rel = f"experiments/{EXP}/runs/{rec.id}.events.jsonl"
    with (hand / rel).open("a", encoding="utf-8") as handle:
        handle.write('{"step": 99, "payload": ' + DEEP + "}\n")
    built = run(hand, "report", "build")
    assert built.exception is None and built.exit_code == 0, built.output
    shown = run(hand, "run", "show", rec.id, "--json")
    assert shown.exception is None and shown.exit_code == 0, shown.output
    problems = json.loads(shown.stdout)["eventProblems"]
    assert any("nested too deeply" in str(p) for p in problems), problems


def test_run_event_with_a_payload_nested_200000_deep_is_bad_input(hand: Path):
    rec = record("f1", "none", "a1", 2)
    result = run(hand, "run", "event", rec.id, "note", "--payload", '{"a": ' + DEEP + "}")
    assert_clean_refusal(result, "payload", "nested too deeply")


@pytest.mark.parametrize(
    "name,text",
    [
        ("package.json", '{"dependencies": {"a": "1.0.0"}, "n": ' + HUGE + "}"),
        ("package-lock.json", '{"packages": {"node_modules/a": {"version": 1e999}}}'),
        ("pyproject.toml", f"n = {HUGE}\n[project]\ndependencies = []\n"),
        ("poetry.lock", f"n = {HUGE}\n"),
        ("pnpm-lock.yaml", f"n: {HUGE}\n"),
        ("pnpm-lock.yaml", "n: 2026-02-30\n"),
    ],
)
def test_manifests_with_numbers_python_cannot_hold_are_problems(tmp_path, name, text):
    from experimentos.repofacts.facts import read_local_facts

    write_files(tmp_path, {name: text, "requirements.txt": "httpx==0.27.0\n"})
    facts = read_local_facts(tmp_path)
    assert [p.path for p in facts.problems] == [name]
    assert facts.get("httpx").locked == "0.27.0"


def test_a_manifest_that_links_out_of_the_repository_is_not_read(tmp_path):
    from experimentos.repofacts.facts import read_local_facts

    outside = tmp_path / "outside.json"
    outside.write_text('{"dependencies": {"secret": "1.0.0"}}', encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").symlink_to(outside)
    facts = read_local_facts(repo)
    assert facts.get("secret") is None
    assert [p.path for p in facts.problems] == ["package.json"]


# --- defect 15: a base URL is a path on this origin or an http(s) URL with a host --------------


@pytest.mark.parametrize(
    "url",
    [
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "https:evil.example",
        "https:///evil.example",
        "http://user:pass@evil.example/",
        "https://good.example\\@evil.example/",
        "javascript:alert(1)//",
        "/kb/?next=//evil.example",
        "/kb/#frag",
        "/kb\n",
        "https://evil.example/a b",
        'https://x.example/"><script>alert(1)</script>',
        "ftp://x.example/",
        "kb/",
    ],
)
def test_site_build_refuses_a_base_url_that_leaves_the_origin(kb, tmp_path, url):
    result = run(kb.root, "site", "build", str(tmp_path / "site"), "--base-url", url, "--json")
    assert_clean_refusal(result)
    assert json.loads(result.stdout)["error"]["field"] == "--base-url"
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    "url", ["/", "/kb", "/kb/docs/", "https://acme.github.io/kb", "http://localhost:8000/"]
)
def test_site_build_takes_an_absolute_path_or_an_http_url(kb, tmp_path, url):
    result = run(kb.root, "site", "build", str(tmp_path / "site"), "--base-url", url, "--json")
    assert result.exit_code == 0, result.output


# --- an agent's own account of its usage is outside input too ----------------------------------

BRAGGART = """\
#!/bin/sh
echo fixed > app.txt
echo '{"type":"file_edited","path":"app.txt"}'
echo '{"type":"usage","tokens_in":1000000000000000000000000000000,"cost_usd":1e300}'
echo '{"type":"usage","tokens_out":-99999999999999999999,"turns":3}'
echo '{"type":"final_answer","text":"done"}'
"""


def test_usage_an_agent_reports_beyond_any_measure_is_left_out_not_fatal(tmp_path):
    from experimentos.matrix.runner import run_matrix

    from .matrix_helpers import EXP as MATRIX_EXP
    from .matrix_helpers import make_root, records

    ws = make_root(tmp_path / "root", {"braggart": BRAGGART})
    summary = run_matrix(ws, MATRIX_EXP, jobs=1)
    assert summary.errored == 0
    (record,) = records(ws.root).values()
    usage = record.matrix.usage
    assert (record.status.value, record.outcome.value) == ("finished", "success")
    assert (usage.tokens_in, usage.cost_usd, usage.tokens_out, usage.turns) == (None, None, None, 3)
    assert "tokens_in" not in record.metrics or record.metrics["tokens_in"] is None
    built = run(ws.root, "report", "build")
    assert built.exit_code == 0 and "1 counted" in built.output, built.output
