"""Issue ingestion: real-shaped GitHub threads -> claims, ranges, alignment, proposals."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from experimentos.errors import UsageError
from experimentos.knowledge.check import check
from experimentos.lifecycle.ingest import ingest_issue, plan_ingest, read_payload
from experimentos.lifecycle.ingest.scope import write_range
from experimentos.lifecycle.ingest.thread import parse_payload
from experimentos.repofacts.versions import matches
from experimentos.store import Workspace, parse_document

from .conftest import PROJECT, git, write_files
from .proposal_helpers import branches, make_repo, show, snapshot

ISSUES = Path(__file__).parent / "data" / "issues"
TODAY = dt.date(2026, 1, 5)

# Repositories the claims are aligned with: root manifests only.
REPOS = {
    "drizzle-0.30": {"package.json": '{"devDependencies": {"drizzle-kit": "0.30.4"}}'},
    "drizzle-0.31": {"package.json": '{"devDependencies": {"drizzle-kit": "0.31.1"}}'},
    "drizzle-beta": {"package.json": '{"devDependencies": {"drizzle-kit": "1.0.0-beta.2"}}'},
    "rtl-15": {"package.json": '{"devDependencies": {"@testing-library/react": "15.0.7"}}'},
    "rtl-16": {"package.json": '{"devDependencies": {"@testing-library/react": "16.1.0"}}'},
    "pydantic-1": {"requirements.txt": "pydantic==1.10.13\n"},
    "pydantic-2": {"requirements.txt": "pydantic==2.7.1\n"},
    "vite-5": {"package.json": '{"devDependencies": {"vite": "5.0.2"}}'},
    "no-vite": {"requirements.txt": "requests==2.32.3\n"},
    "urllib3-1": {"requirements.txt": "urllib3==1.26.18\nbotocore==1.29.120\n"},
    "urllib3-2": {"requirements.txt": "urllib3==2.0.7\nbotocore==1.29.120\n"},
    "sklearn-1.5": {"requirements.txt": "scikit-learn==1.5.2\n"},
    "sklearn-1.6": {"requirements.txt": "scikit-learn==1.6.0\n"},
    "pandas-1": {"requirements.txt": "pandas==1.5.3\n"},
    "pandas-2": {"requirements.txt": "pandas==2.0.1\n"},
    "httpx-0.28": {"requirements.txt": "httpx==0.28.0\nopenai==1.55.0\n"},
    "httpx-0.27": {"requirements.txt": "httpx==0.27.2\nopenai==1.55.0\n"},
}

# advice text (as written in the thread) -> claim key, range of the thread, repository, verdict
TABLE = [
    (
        "drizzle-kit-default-regression.rest.json",
        "Downgrading drizzle-kit to 0.30.6 fixed it for me.",
        "pin-drizzle-kit-0.30.6",
        ">=0.31.0 <0.31.2",
        "drizzle-0.30",
        "outside",
    ),
    (
        "drizzle-kit-default-regression.rest.json",
        "Fixed in drizzle-kit 0.31.2, please upgrade.",
        "upgrade-drizzle-kit-0.31.2",
        ">=0.31.0 <0.31.2",
        "drizzle-0.31",
        "inside",
    ),
    (
        "drizzle-kit-v1-beta-journal.rest.json",
        "If you are not ready for the new folder layout, pin drizzle-kit to 0.31.4",
        "pin-drizzle-kit-0.31.4",
        ">=1.0.0-beta.1 <1.0.0",
        "drizzle-0.30",
        "outside",
    ),
    (
        "drizzle-kit-v1-beta-journal.rest.json",
        "If you are not ready for the new folder layout, pin drizzle-kit to 0.31.4",
        "pin-drizzle-kit-0.31.4",
        ">=1.0.0-beta.1 <1.0.0",
        "drizzle-beta",
        "inside",
    ),
    (
        "rtl-react19-legacy-peer-deps.gh.json",
        "Use the `--legacy-peer-deps` flag",
        "flag-legacy-peer-deps",
        ">=15.0.7 <16.1.0",
        "rtl-15",
        "inside",
    ),
    (
        "rtl-react19-legacy-peer-deps.gh.json",
        "Passing `--force` also works.",
        "flag-force",
        ">=15.0.7 <16.1.0",
        "rtl-15",
        "inside",
    ),
    (
        "rtl-react19-legacy-peer-deps.gh.json",
        "Upgrade @testing-library/react to 16.1.0, which supports React 19",
        "upgrade-testing-library-react-16.1.0",
        ">=15.0.7 <16.1.0",
        "rtl-16",
        "outside",
    ),
    (
        "pydantic-parse-obj-deprecated.rest.json",
        "Just pin pydantic<2 until you have time to migrate.",
        "pin-pydantic-lt-2",
        ">=2.6.0,<3.0.0",
        "pydantic-1",
        "outside",
    ),
    (
        "pydantic-parse-obj-deprecated.rest.json",
        "`parse_obj` was renamed to `model_validate` in v2.",
        "use-model-validate",
        ">=2.6.0,<3.0.0",
        "pydantic-2",
        "inside",
    ),
    (
        "vite-node14-wontfix.gh.json",
        "If you need Node 14, pin vite to 4.5.3 (the last 4.x release)",
        "pin-vite-4.5.3",
        ">=5.0.0 <6.0.0",
        "vite-5",
        "inside",
    ),
    (
        "vite-node14-wontfix.gh.json",
        "Upgrade Node to 18 in CI",
        "upgrade-node-18",
        ">=5.0.0 <6.0.0",
        "no-vite",
        "unknown",
    ),
    (
        "botocore-urllib3-2.rest.json",
        "Pin urllib3<2 in your requirements.txt until botocore supports it.",
        "pin-urllib3-lt-2",
        ">=2.0.0",
        "urllib3-1",
        "outside",
    ),
    (
        "botocore-urllib3-2.rest.json",
        "Upgrade botocore to 1.29.135 or later",
        "upgrade-botocore-1.29.135",
        ">=2.0.0",
        "urllib3-2",
        "inside",
    ),
    (
        "scikit-learn-py313-wheels.gh.json",
        "pass `--pre` to pip",
        "flag-pre",
        ">=1.5.2,<1.6.0",
        "sklearn-1.5",
        "inside",
    ),
    (
        "scikit-learn-py313-wheels.gh.json",
        "Pin scikit-learn==1.6.0rc1 instead",
        "pin-scikit-learn-1.6.0rc1",
        ">=1.5.2,<1.6.0",
        "sklearn-1.6",
        "outside",
    ),
    (
        "pandas-append-removed.rest.json",
        "Use `pd.concat([df, other])` instead of `df.append(other)`.",
        "use-concat",
        ">=2.0.0,<3.0.0",
        "pandas-1",
        "outside",
    ),
    (
        "pandas-append-removed.rest.json",
        "Or downgrade pandas to 1.5.3 if you can't touch the code right now.",
        "pin-pandas-1.5.3",
        ">=2.0.0,<3.0.0",
        "pandas-2",
        "inside",
    ),
    (
        "openai-httpx-proxies.rest.json",
        "Pin httpx to 0.27.2 for now",
        "pin-httpx-0.27.2",
        ">=0.28.0,<0.29.0",
        "httpx-0.28",
        "inside",
    ),
    (
        "openai-httpx-proxies.rest.json",
        "This is fixed in openai 1.55.3, please upgrade.",
        "upgrade-openai-1.55.3",
        ">=0.28.0,<0.29.0",
        "httpx-0.27",
        "outside",
    ),
]

# Every claim each thread must give (no more, no fewer).
EXPECTED_KEYS = {name: {row[2] for row in TABLE if row[0] == name} for name, *_ in TABLE}
# A maintainer's release note and a dev dependency to add are advice too.
EXPECTED_KEYS["scikit-learn-py313-wheels.gh.json"].add("upgrade-scikit-learn-1.6.0")
EXPECTED_KEYS["rtl-react19-legacy-peer-deps.gh.json"].add("workaround-testing-library-dom")
EXPECTED_KEYS["prisma-generate-hangs-noise.gh.json"] = set()
EXPECTED_KEYS["pytest-8-fixture-lookup-questions.rest.json"] = set()


def thread(name: str):
    return read_payload((ISSUES / name).read_bytes(), name)


def repo_dir(tmp_path: Path, name: str) -> Path:
    return write_files(tmp_path / "repos" / name, REPOS[name])


def test_the_test_data_has_ten_or_more_threads_in_both_shapes():
    names = sorted(p.name for p in ISSUES.glob("*.json"))
    assert len(names) >= 10
    assert any(n.endswith(".gh.json") for n in names) and any(
        n.endswith(".rest.json") for n in names
    )
    assert set(EXPECTED_KEYS) <= set(names)


@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_each_thread_gives_exactly_the_expected_claims(name):
    result, pages = plan_ingest(thread(name), today=TODAY)
    keys = {c.id.split(f"{result.source.split('.', 1)[1]}-", 1)[1] for c in result.claims}
    assert keys == EXPECTED_KEYS[name]
    assert [p.type.value for p in pages] == ["source"] + ["claim"] * len(result.claims)


@pytest.mark.parametrize(
    "name,advice,key,version_range,repo,verdict", TABLE, ids=[f"{r[0][:12]}-{r[2]}" for r in TABLE]
)
def test_advice_table(tmp_path, name, advice, key, version_range, repo, verdict):
    issue = thread(name)
    result, pages = plan_ingest(issue, repo=repo_dir(tmp_path, repo), today=TODAY)
    claim = next(c for c in result.claims if c.id.endswith(f"-{key}"))
    page = next(p for p in pages if p.id == claim.id)
    assert advice in page.body, "the claim quotes the advice it came from"
    assert claim.range == version_range == page.applies_to.versions
    assert page.applies_to.library == result.library
    assert claim.alignment == verdict
    tags = set(page.tags)
    assert ("other-release-line" in tags) == (verdict == "outside")
    assert ("same-release-line" in tags) == (verdict == "inside")
    assert page.status.value == "draft" and not page.decision_capable
    assert page.derived_from == [result.source]


def test_rest_and_gh_shapes_of_one_thread_give_the_same_pages():
    rest, rest_pages = plan_ingest(thread("drizzle-kit-default-regression.rest.json"), today=TODAY)
    gh, gh_pages = plan_ingest(thread("drizzle-kit-default-regression.gh.json"), today=TODAY)
    assert rest.sha256 == gh.sha256
    assert [c.id for c in rest.claims] == [c.id for c in gh.claims]
    claim_sections = [
        [p.body.split("## Thread")[0] for p in pages[1:]] for pages in (rest_pages, gh_pages)
    ]
    assert claim_sections[0] == claim_sections[1]
    assert rest_pages[0].origin.sha256 == gh_pages[0].origin.sha256
    # gh was not asked for stateReason, so it only knows the thread is closed
    assert rest.state == "closed as completed" and gh.state == "closed"


def test_a_maintainers_correction_contradicts_the_advice_and_the_alternative_says_so():
    result, pages = plan_ingest(thread("rtl-react19-legacy-peer-deps.gh.json"), today=TODAY)
    by_key = {c.id.rsplit("1365-", 1)[1]: c for c in result.claims}
    for flag in ("flag-legacy-peer-deps", "flag-force"):
        claim = by_key[flag]
        assert [(c.kind, c.by, c.role) for c in claim.corrections] == [
            ("contradicted", "MatanBobi", "maintainer")
        ]
        page = next(p for p in pages if p.id == claim.id)
        assert "contradicted" in page.tags and page.confidence.value == "low"
        assert "## Contradicted in the thread" in page.body
        assert "Contradicted later in the thread by @MatanBobi (maintainer)" in page.summary
    upgrade = by_key["upgrade-testing-library-react-16.1.0"]
    assert upgrade.maintainer and not upgrade.corrections
    assert upgrade.contradicts == [by_key["flag-legacy-peer-deps"].id, by_key["flag-force"].id]


def test_a_correction_that_quotes_the_advice_and_a_withdrawal_by_its_author():
    pyd, _ = plan_ingest(thread("pydantic-parse-obj-deprecated.rest.json"), today=TODAY)
    pin = next(c for c in pyd.claims if c.kind == "pin")
    assert [(c.kind, c.by) for c in pin.corrections] == [("contradicted", "sydney-runkle")]
    use = next(c for c in pyd.claims if c.kind == "use")
    assert use.said_by == ["rvanlaar", "sydney-runkle"] and use.contradicts == [pin.id]
    sk, _ = plan_ingest(thread("scikit-learn-py313-wheels.gh.json"), today=TODAY)
    pre = next(c for c in sk.claims if c.kind == "flag")
    assert [(c.kind, c.by) for c in pre.corrections] == [("withdrawn", "lesteve")]
    assert "no longer needed" in pre.corrections[0].text
    # a user's pin that merely disagrees is not a correction of the maintainer's advice
    assert not next(c for c in sk.claims if c.kind == "pin").corrections


def test_a_thread_closed_as_not_planned_is_marked_on_the_source():
    result, pages = plan_ingest(thread("vite-node14-wontfix.gh.json"), today=TODAY)
    assert result.state == "closed as not planned"
    source = pages[0]
    assert "wontfix" in source.tags and source.origin.state == "closed as not planned"
    pin = next(c for c in result.claims if c.kind == "pin")
    assert pin.maintainer and pin.said_by == ["bluwy"]


def test_a_pre_release_only_thread_covers_the_pre_releases_and_not_the_final():
    result, _ = plan_ingest(thread("drizzle-kit-v1-beta-journal.rest.json"), today=TODAY)
    assert result.range == ">=1.0.0-beta.1 <1.0.0"
    assert matches(result.range, "1.0.0-beta.2", "npm") is True
    assert matches(result.range, "1.0.0", "npm") is False
    assert matches(result.range, "0.31.4", "npm") is False
    # the same range for a Python package (PEP 440: `<1.0.0` alone would exclude 1.0.0b2)
    pep = write_range("1.0.0b1", "1.0.0", "python")
    assert [matches(pep, v, "python") for v in ("1.0.0b2", "1.0.0rc1", "1.0.0", "0.9")] == [
        True,
        True,
        False,
        False,
    ]


def test_noise_and_questions_give_a_source_and_no_claims():
    for name in (
        "prisma-generate-hangs-noise.gh.json",
        "pytest-8-fixture-lookup-questions.rest.json",
    ):
        result, pages = plan_ingest(thread(name), today=TODAY)
        assert result.claims == [] and len(pages) == 1
        assert "No actionable advice was found" in pages[0].body
    pytest_result, _ = plan_ingest(thread("pytest-8-fixture-lookup-questions.rest.json"))
    # "since 8.0.0": every later version too
    assert pytest_result.library == "pytest" and pytest_result.range == ">=8.0.0"


def test_source_page_records_url_fetch_date_state_and_content_hash():
    issue = thread("botocore-urllib3-2.rest.json")
    _, pages = plan_ingest(issue, today=TODAY)
    origin = pages[0].origin
    assert origin.url == "https://github.com/boto/botocore/issues/2926"
    assert origin.fetched_at == TODAY and origin.state == "closed as completed"
    assert origin.sha256 == issue.sha256() and len(origin.sha256) == 64
    edited = json.loads((ISSUES / "botocore-urllib3-2.rest.json").read_text(encoding="utf-8"))
    edited["comments"][0]["body"] += " (edited)"
    assert parse_payload(edited).sha256() != issue.sha256()


@pytest.mark.parametrize(
    "payload,field",
    [
        ([], None),
        ({"title": "x", "comments": []}, "url"),
        ({"issue": {"html_url": "https://github.com/o/r/issues/1", "title": ""}}, "title"),
        (
            {"html_url": "https://github.com/o/r/issues/1", "title": "t", "comments": 3},
            "comments",
        ),
        (
            {"html_url": "https://github.com/o/r/issues/1", "title": "t", "comments": [1]},
            "comments[0]",
        ),
        (
            {"html_url": "https://github.com/o/r/issues/1", "title": "t", "body": 5},
            "body",
        ),
    ],
)
def test_bad_payloads_are_refused_naming_the_field(payload, field):
    with pytest.raises(UsageError) as err:
        parse_payload(payload)
    assert err.value.field == field


def test_not_json_is_a_clear_error():
    with pytest.raises(UsageError, match="not JSON"):
        read_payload(b"{nope", "issue.json")


# --- proposals ----------------------------------------------------------------------------------


@pytest.fixture
def kb(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return make_repo(tmp_path / "kb")


def _pages_on(top: Path, branch: str, paths: list[str]) -> dict[str, object]:
    return {rel: parse_document(show(top, branch, rel).encode(), rel).page for rel in paths}


def test_ingest_proposes_a_branch_and_never_touches_the_users_tree(kb, tmp_path):
    before = snapshot(kb.root)
    result = ingest_issue(
        kb,
        thread("drizzle-kit-default-regression.rest.json"),
        repo=PROJECT / "fixtures" / "drizzle-pin",
        today=TODAY,
    )
    assert snapshot(kb.root) == before, "nothing is written to the user's branch or tree"
    proposal = result.proposal
    assert proposal.name == "xos/ingest/source.github-drizzle-team-drizzle-orm-4301"
    assert branches(kb.root) == [proposal.name]
    assert {d.change for d in proposal.pages} == {"added"}
    assert result.source_outcome == "added" and {c.outcome for c in result.claims} == {"added"}
    pages = _pages_on(kb.root, proposal.name, [d.path for d in proposal.pages])
    for page in pages.values():
        assert page.status.value == "draft" and not page.decision_capable
    claims = [p for p in pages.values() if p.type.value == "claim"]
    assert {p.applies_to.versions for p in claims} == {">=0.31.0 <0.31.2"}
    assert all("other-release-line" in p.tags for p in claims)  # the fixture is on 0.30.4
    # the proposal passes check on its own branch
    git(kb.root, "checkout", "-q", proposal.name)
    assert check(Workspace(kb.root)).errors == []


def test_ingest_twice_before_review_does_not_open_a_second_proposal(kb):
    issue = thread("vite-node14-wontfix.gh.json")
    first = ingest_issue(kb, issue, today=TODAY)
    again = ingest_issue(kb, issue, today=TODAY + dt.timedelta(days=3))
    assert again.proposal is None and again.already_proposed == first.proposal.name
    assert branches(kb.root) == [first.proposal.name]


def test_dry_run_proposes_nothing_and_shows_the_pages(kb):
    before = snapshot(kb.root)
    result = ingest_issue(kb, thread("pandas-append-removed.rest.json"), dry_run=True)
    assert result.proposal is None and branches(kb.root) == []
    assert snapshot(kb.root) == before
    assert "wiki/sources/github-pandas-dev-pandas-52412.md" in result.pages


def test_reingest_updates_the_source_and_keeps_hand_edits_to_claims(kb):
    issue_data = json.loads(
        (ISSUES / "drizzle-kit-default-regression.rest.json").read_text(encoding="utf-8")
    )
    first = ingest_issue(kb, parse_payload(issue_data), today=TODAY)
    git(kb.root, "merge", "-q", "--ff-only", first.proposal.name)
    pin_id = next(c.id for c in first.claims if c.kind in ("pin", "downgrade"))
    pin_rel = f"wiki/claims/{pin_id.split('.', 1)[1]}.md"
    source_rel = f"wiki/sources/{first.source.split('.', 1)[1]}.md"
    # A reviewer edits the claim and adds notes to the source.
    pin_path = kb.root / pin_rel
    text = pin_path.read_text(encoding="utf-8")
    text = text.replace("title: Downgrade drizzle-kit to 0.30.6", "title: Hand-edited pin title")
    pin_path.write_text(text + "\nA reviewer's own note.\n", encoding="utf-8")
    with (kb.root / source_rel).open("a", encoding="utf-8") as handle:
        handle.write("\n## Notes\n\nChecked by hand on 2026-01-06.\n")
    git(kb.root, "commit", "-qam", "review the ingested pages")

    # Unchanged thread: nothing to propose.
    same = ingest_issue(kb, parse_payload(issue_data), today=TODAY + dt.timedelta(days=1))
    assert same.up_to_date and same.proposal is None

    # The thread moves on: a maintainer corrects the pin advice.
    later = copy.deepcopy(issue_data)
    later["comments"].append(
        {
            **later["comments"][-1],
            "id": 1,
            "html_url": "https://github.com/drizzle-team/drizzle-orm/issues/4301#issuecomment-1",
            "user": {"login": "AndriiSherman"},
            "author_association": "MEMBER",
            "created_at": "2025-04-20T09:00:00Z",
            "body": "Please don't pin drizzle-kit to 0.30.6: 0.30.x has a data-loss bug in push.",
        }
    )
    before = snapshot(kb.root)
    second = ingest_issue(kb, parse_payload(later), today=TODAY + dt.timedelta(days=2))
    assert snapshot(kb.root) == before
    assert second.source_outcome == "updated"
    outcomes = {c.id: c.outcome for c in second.claims}
    assert outcomes[pin_id] == "updated" and set(outcomes.values()) == {"updated", "unchanged"}
    pages = _pages_on(kb.root, second.proposal.name, [pin_rel, source_rel])
    pin, source = pages[pin_rel], pages[source_rel]
    assert pin.title == "Hand-edited pin title (drizzle-team/drizzle-orm#4301)"
    assert "A reviewer's own note." in pin.body
    assert "## Contradicted in the thread" in pin.body and "data-loss bug" in pin.body
    assert "contradicted" in pin.tags and "Contradicted later" in pin.summary
    assert "Checked by hand on 2026-01-06." in source.body
    assert source.origin.sha256 == parse_payload(later).sha256()
    assert source.origin.fetched_at == TODAY + dt.timedelta(days=2)
    assert "7 comments" in source.summary


def test_briefs_exclude_a_claim_about_another_release_line(kb):
    from experimentos.briefs.compiler import compile_brief
    from experimentos.briefs.models import BriefRequest
    from experimentos.knowledge.live import Live

    result = ingest_issue(kb, thread("drizzle-kit-default-regression.rest.json"), today=TODAY)
    git(kb.root, "merge", "-q", "--ff-only", result.proposal.name)
    live = Live(Workspace(kb.root), watch=False, index=False)
    request = BriefRequest(
        task="fix the migration default drizzle-kit generate keeps re-adding",
        repo=str(PROJECT / "fixtures" / "drizzle-pin"),
        libraries=["drizzle-kit"],
    )
    brief = compile_brief(live, request, today=TODAY)
    excluded = {e.id: e.reasons for e in brief.excluded}
    for claim in result.claims:
        assert claim.id in excluded
        assert any(
            r.startswith("versions: drizzle-kit 0.30.4 does not satisfy")
            for r in excluded[claim.id]
        )
    live.close()


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_ingest_from_stdin_with_json(kb, cli, monkeypatch):
    from typer.testing import CliRunner

    from experimentos.cli import app

    raw = (ISSUES / "openai-httpx-proxies.rest.json").read_text(encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--root", str(kb.root), "ingest", "issue", "-", "--json"], input=raw
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["thread"] == "openai/openai-python#1902"
    assert data["proposal"]["name"].startswith("xos/ingest/")
    assert {c["kind"] for c in data["claims"]} == {"downgrade", "upgrade"}


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "give the issue as FILE"),
        (["missing.json"], "no such file"),
        (["x.json", "--fetch", "o/r#1"], "give the issue as FILE"),
        (["--fetch", "not a ref"], "not an issue reference"),
        (["--fetch", "o/r#1"], "needs a GitHub token"),
    ],
)
def test_cli_ingest_bad_input_exits_2(kb, cli, monkeypatch, args, message):
    monkeypatch.delenv("GH_TOKEN", raising=False)
    result = cli(kb.root, "ingest", "issue", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert branches(kb.root) == []


def test_cli_ingest_bad_payload_names_the_field(kb, cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"html_url": "https://github.com/o/r/issues/1", "title": "t", "comments": 4}')
    result = cli(kb.root, "ingest", "issue", str(bad), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "comments" and error["path"] == str(bad)


# --- --fetch against a local fake GitHub API --------------------------------------------------


class FakeIssues:
    """A real HTTP server answering the issue and (paginated) comments endpoints."""

    def __init__(self, payload: dict, per_page: int = 2, next_link: str | None = None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict] = []
        fake = self
        issue, comments = payload["issue"], payload["comments"]
        base = "/repos/drizzle-team/drizzle-orm/issues/4301"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # noqa: ANN002
                pass

            def do_GET(self):  # noqa: N802
                fake.requests.append({"path": self.path, "headers": dict(self.headers)})
                path, _, query = self.path.partition("?")
                status, data, link = 404, {"message": "Not Found"}, None
                if path == base:
                    status, data = 200, issue
                elif path == f"{base}/comments":
                    page = int(dict(p.split("=") for p in query.split("&")).get("page", 1))
                    start = (page - 1) * per_page
                    status, data = 200, comments[start : start + per_page]
                    if start + per_page < len(comments):
                        link = next_link or (
                            f'<{fake.url}{base}/comments?per_page=100&page={page + 1}>; rel="next"'
                        )
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if link:
                    self.send_header("Link", link)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


TOKEN = "ghp_fetch_token_never_stored"


@pytest.fixture
def rest_payload():
    return json.loads(
        (ISSUES / "drizzle-kit-default-regression.rest.json").read_text(encoding="utf-8")
    )


def test_fetch_reads_the_issue_and_every_comment_page(kb, cli, monkeypatch, rest_payload):
    fake = FakeIssues(rest_payload)
    try:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = cli(
            kb.root, "ingest", "issue", "--fetch", "drizzle-team/drizzle-orm#4301", "--json"
        )
    finally:
        fake.close()
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (
        data["comments"] == 6
        and data["sha256"] == thread("drizzle-kit-default-regression.rest.json").sha256()
    )
    paths = [r["path"] for r in fake.requests]
    assert paths[0] == "/repos/drizzle-team/drizzle-orm/issues/4301"
    assert len([p for p in paths if "/comments" in p]) == 3  # 6 comments, 2 a page
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    # The token is never stored: not in the proposal's files, not in the output.
    assert TOKEN not in result.stdout + result.stderr
    branch = data["proposal"]["name"]
    grep = subprocess.run(["git", "grep", "-q", TOKEN, branch], cwd=kb.root, check=False)
    assert grep.returncode == 1  # no match in any file of the proposal


def test_fetch_refuses_a_pagination_link_to_another_host(kb, cli, monkeypatch, rest_payload):
    fake = FakeIssues(rest_payload, next_link='<http://evil.example/steal>; rel="next"')
    try:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = cli(kb.root, "ingest", "issue", "--fetch", "drizzle-team/drizzle-orm#4301")
    finally:
        fake.close()
    assert result.exit_code == 2
    assert "refusing to follow a link outside" in result.stderr
    assert TOKEN not in result.stderr
    assert branches(kb.root) == []


def test_fetch_reports_an_api_error(kb, cli, monkeypatch, rest_payload):
    fake = FakeIssues(rest_payload)
    try:
        monkeypatch.setenv("EXPERIMENTOS_GITHUB_API", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        result = cli(kb.root, "ingest", "issue", "--fetch", "drizzle-team/drizzle-orm#9")
    finally:
        fake.close()
    assert result.exit_code == 2
    assert "404 Not Found" in result.stderr


# --- phrasings ------------------------------------------------------------------------------------

PHRASES = [
    ("You can pass `--legacy-peer-deps` to npm install.", ["flag-legacy-peer-deps"]),
    ("Try running with --no-cache.", ["flag-no-cache"]),
    ("I'd recommend pinning numpy to 1.26.4.", ["pin-numpy-1.26.4"]),
    ("The fix is to upgrade typescript to 5.4.5.", ["upgrade-typescript-5.4.5"]),
    ("Upgrading to 2.1.0 solved it.", ["upgrade-lib-2.1.0"]),
    ("Bump it to the latest version.", ["upgrade-lib-latest"]),
    ("`foo()` has been renamed to `bar()`.", ["use-bar"]),
    ("Switch to `createRoot` instead of `ReactDOM.render`.", ["use-createroot"]),
    ("npm install drizzle-kit@0.30.6 fixes it.", ["pin-drizzle-kit-0.30.6"]),
    ("Run `pip install 'numpy<2'` for now.", ["pin-numpy-lt-2"]),
    ("As a workaround, set `--max-old-space-size=4096`.", ["flag-max-old-space-size"]),
    ("Works for me after downgrading to 1.2.2.", ["pin-lib-1.2.2"]),
    ("Workaround:\n\n```\nnpm install --legacy-peer-deps\n```", ["flag-legacy-peer-deps"]),
    # not advice: narration, questions, negations, failed attempts, quotes, logs
    ("We upgraded to 2.1.0 and it broke.", []),
    ("Should I pin to 1.2.3?", []),
    ("Don't pin to 1.2.3.", []),
    ("I tried pinning to 1.2.3 but it did not help.", []),
    ("Pinning doesn't help here.", []),
    ("`pip install lib==1.5.2` on Python 3.13 fails to build.", []),
    ("> Upgrade to 2.1.0\n\nThat is what I did.", []),
    ("```\nnpm WARN upgrade to 2.1.0 --force\n```", []),
]


@pytest.mark.parametrize("text,keys", PHRASES, ids=[p[0][:40] for p in PHRASES])
def test_advice_phrasings(text, keys):
    from experimentos.lifecycle.ingest.advice import find_advice
    from experimentos.lifecycle.ingest.scope import Scope
    from experimentos.lifecycle.ingest.thread import Comment, Thread

    issue = Thread(
        owner="o",
        repo="r",
        number=1,
        url="https://github.com/o/r/issues/1",
        title="t",
        state="open",
        comments=[
            Comment(author="a", body="Broken.", opening=True),
            Comment(author="b", body=text),
        ],
    )
    scope = Scope(library="lib", ecosystem="python", affected=["2.0.0"])
    assert [a.key for a in find_advice(issue, scope)] == keys


def test_ingest_push_pushes_the_proposal_branch(kb, tmp_path):
    from .proposal_helpers import add_bare_remote

    bare = add_bare_remote(kb.root, tmp_path / "remote.git")
    result = ingest_issue(kb, thread("pandas-append-removed.rest.json"), push=True)
    assert result.pushed is not None and result.pushed.pr_skipped == "the remote is not on GitHub"
    remote_heads = git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/xos/")
    assert remote_heads.split() == [result.proposal.name]


def test_a_fifo_given_as_the_issue_file_is_refused_without_blocking(kb, cli, tmp_path):
    import os

    fifo = tmp_path / "issue.json"
    os.mkfifo(fifo)
    result = cli(kb.root, "ingest", "issue", str(fifo))
    assert result.exit_code == 2 and "not a regular file" in result.stderr
