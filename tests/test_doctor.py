"""Knowledge health: code citations, stale dependencies, contradictions, gone sources,
near-duplicates from the index's vectors; `cite add`, `doctor`, `check --stale`."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from experimentos.errors import ConcurrentEdit, NotFound, UsageError
from experimentos.lifecycle.cites import add_cite, digest
from experimentos.lifecycle.health import doctor, stale_warnings
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import git, page_text, write_files
from .proposal_helpers import branches, snapshot

TODAY = dt.date(2026, 3, 1)
HEADER = [
    "import { pgTable, serial, timestamp, text } from 'drizzle-orm/pg-core';",
    "",
    "// Tables of the app.",
    "export const users = pgTable('users', {",
    "  id: serial('id').primaryKey(),",
    "  name: text('name').notNull(),",
    "  createdAt: timestamp('created_at').defaultNow().notNull(),",
    "});",
    "",
]
FUNCTION = [
    "export function createdAtDefault(now: Date | null): string {",
    "  // The migration default the tests pin: now() on the server, never a literal.",
    "  if (now === null) {",
    "    return 'now()';",
    "  }",
    "  const iso = now.toISOString();",
    "  if (iso.endsWith('Z')) {",
    "    return `'${iso}'::timestamptz`;",
    "  }",
    "  return `'${iso}'`;",
    "}",
    "",
    "export const DEFAULTS = { createdAt: createdAtDefault(null) };",
    "// end of defaults",
    "",
]
SCHEMA = "\n".join(HEADER + FUNCTION + ["export const VERSION = 1;"]) + "\n"
CITED = "src/db/schema.ts:10-24"


@pytest.fixture
def repo(tmp_path: Path) -> Workspace:
    """A git repository whose root is also the knowledge root, with code to cite."""
    top = tmp_path / "app"
    top.mkdir()
    git(top, "init", "-q", "-b", "main")
    init_workspace(top)
    (top / "experimentos.toml").write_text('[index]\nembedder = "none"\n', encoding="utf-8")
    write_files(
        top,
        {
            "src/db/schema.ts": SCHEMA,
            "policies/keep-default.md": page_text(
                "policy.keep-default", "policy", "Keep the migration default", body="## Rule\n"
            ),
        },
    )
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "app")
    return Workspace(top)


def write(ws: Workspace, rel: str, text: str) -> None:
    write_files(ws.root, {rel: text})


def test_cite_add_records_the_hash_of_the_lines(repo):
    added, doc = add_cite(repo, "policy.keep-default", CITED)
    assert added.action == "added"
    cite = doc.page.cites[0]
    assert (cite.path, cite.lines) == ("src/db/schema.ts", "10-24")
    expected = "".join(line + "\n" for line in FUNCTION)
    assert cite.sha256 == digest(expected.encode())
    # The same digest as briefs use for stale warnings.
    from experimentos.briefs.compiler import cite_digest

    assert cite.sha256 == cite_digest(repo.root, "src/db/schema.ts", "10-24")
    assert add_cite(repo, "policy.keep-default", CITED)[0].action == "unchanged"


def test_a_cited_function_that_moved_20_lines_is_drifted_with_the_new_lines(repo):
    add_cite(repo, "policy.keep-default", CITED)
    moved = HEADER + [f"// padding line {i}" for i in range(20)] + FUNCTION + ["// tail"]
    write(repo, "src/db/schema.ts", "\n".join(moved) + "\n")
    report = doctor(repo, today=TODAY, duplicates=False)
    [finding] = report.cite_findings
    assert finding.status == "drifted" and finding.now == "30-44"
    assert "now at lines 30-44" in finding.message
    assert report.cites == {"drifted": 1}
    # Re-pointing the citation: `cite add` at the new lines moves the entry.
    added, doc = add_cite(repo, "policy.keep-default", "src/db/schema.ts:30-44")
    assert added.action == "moved" and added.replaced.lines == "10-24"
    assert [c.lines for c in doc.page.cites] == ["30-44"]
    assert doctor(repo, today=TODAY, duplicates=False).cite_findings == []


def test_changed_orphaned_unhashed_and_unreadable_citations(repo, tmp_path):
    add_cite(repo, "policy.keep-default", CITED)
    add_cite(repo, "policy.keep-default", "src/db/schema.ts")
    write(repo, "src/other.ts", "export const x = 1;\n")
    add_cite(repo, "policy.keep-default", "src/other.ts:1")
    outside = tmp_path / "outside.ts"
    outside.write_text("secret\n", encoding="utf-8")
    os.symlink(outside, repo.root / "src" / "link.ts")
    page = (repo.root / "policies/keep-default.md").read_text(encoding="utf-8")
    page = page.replace("cites:\n", "cites:\n  - {path: src/link.ts}\n  - {path: src/plain.ts}\n")
    (repo.root / "policies/keep-default.md").write_text(page, encoding="utf-8")
    write(repo, "src/plain.ts", "x\n")
    write(repo, "src/db/schema.ts", SCHEMA.replace("return 'now()';", "return 'NOW()';"))
    (repo.root / "src/other.ts").unlink()
    report = doctor(repo, today=TODAY, duplicates=False)
    by_path = {(c.path, c.lines): c for c in report.cite_findings}
    assert by_path[("src/db/schema.ts", "10-24")].status == "changed"
    assert by_path[("src/db/schema.ts", None)].status == "changed"
    assert by_path[("src/other.ts", "1")].status == "orphaned"
    assert by_path[("src/link.ts", None)].status == "unreadable"
    assert "outside the repository" in by_path[("src/link.ts", None)].message
    assert by_path[("src/plain.ts", None)].status == "unhashed"
    codes = {(p.code, p.severity) for p in report.problems()}
    assert ("cite-changed", "error") in codes and ("cite-orphaned", "error") in codes
    assert ("cite-unhashed", "warning") in codes


@pytest.mark.parametrize(
    "spec,error,field",
    [
        ("../outside.ts", UsageError, "path"),
        ("/etc/passwd", UsageError, "path"),
        ("src/db/schema.ts:20-99", UsageError, "lines"),
        ("src/db/schema.ts:5-2", UsageError, "lines"),
        ("src/missing.ts", NotFound, "path"),
        ("src/db", UsageError, "path"),
    ],
)
def test_cite_add_refuses_bad_citations_and_writes_nothing(repo, spec, error, field):
    before = (repo.root / "policies/keep-default.md").read_bytes()
    with pytest.raises(error) as err:
        add_cite(repo, "policy.keep-default", spec)
    assert err.value.field == field
    assert (repo.root / "policies/keep-default.md").read_bytes() == before


def test_cite_add_never_overwrites_an_edit_made_meanwhile(repo, monkeypatch):
    path = repo.root / "policies/keep-default.md"
    original_save = Workspace.save

    def racing_save(self, page, like=None):  # noqa: ANN001
        path.write_text(path.read_text(encoding="utf-8") + "\nSomeone else's edit.\n")
        return original_save(self, page, like)

    monkeypatch.setattr(Workspace, "save", racing_save)
    with pytest.raises(ConcurrentEdit):
        add_cite(repo, "policy.keep-default", CITED)
    assert path.read_text(encoding="utf-8").endswith("Someone else's edit.\n")
    assert "cites" not in path.read_text(encoding="utf-8")


GRAPH = {
    "policies/top.md": page_text(
        "policy.top", "policy", "Top", extra="dependsOn: [intervention.middle]\n"
    ),
    "wiki/interventions/middle.md": page_text(
        "intervention.middle", "intervention", "Middle", extra="dependsOn: [failure.bottom]\n"
    ),
    "wiki/failures/bottom.md": page_text(
        "failure.bottom", "failure", "Bottom", extra="status: deprecated\n"
    ),
    "wiki/knowledge/expired.md": page_text(
        "knowledge.expired", "knowledge_card", "Expired", extra="expires: 2026-01-01\n"
    ),
    "wiki/failures/on-expired.md": page_text(
        "failure.on-expired", "failure", "On expired", extra="dependsOn: [knowledge.expired]\n"
    ),
    "policies/old.md": page_text("policy.old", "policy", "Old"),
    "policies/new.md": page_text(
        "policy.new",
        "policy",
        "New",
        extra="status: accepted\nsupersedes: [policy.old]\n"
        "review: {reviewer: r, reviewedAt: 2026-01-01, rationale: r, evidence: [policy.old]}\n",
    ),
    "wiki/knowledge/uses-old.md": page_text(
        "knowledge.uses-old", "knowledge_card", "Uses old", extra="dependsOn: [policy.old]\n"
    ),
    "wiki/knowledge/fine.md": page_text("knowledge.fine", "knowledge_card", "Fine"),
    "wiki/knowledge/a.md": page_text(
        "knowledge.a", "knowledge_card", "A", extra="status: accepted\ncontradicts: [knowledge.b]\n"
    ),
    "wiki/knowledge/b.md": page_text(
        "knowledge.b", "knowledge_card", "B", extra="status: accepted\ncontradicts: [knowledge.a]\n"
    ),
    "wiki/knowledge/c.md": page_text(
        "knowledge.c", "knowledge_card", "C draft", extra="contradicts: [knowledge.a]\n"
    ),
    "wiki/sources/retired.md": page_text(
        "source.retired", "source", "Retired", extra="status: deprecated\n"
    ),
    "wiki/claims/from-retired.md": page_text(
        "claim.from-retired", "claim", "From retired", extra="derivedFrom: [source.retired]\n"
    ),
    "wiki/claims/from-missing.md": page_text(
        "claim.from-missing", "claim", "From missing", extra="derivedFrom: [source.gone]\n"
    ),
}


def test_dependency_staleness_propagates_with_the_path(repo):
    write_files(repo.root, GRAPH)
    report = doctor(repo, today=TODAY, duplicates=False)
    stale = {s.page: s for s in report.stale_dependencies}
    assert stale["policy.top"].chain == ["policy.top", "intervention.middle", "failure.bottom"]
    assert stale["policy.top"].reason == "is deprecated"
    assert stale["intervention.middle"].chain == ["intervention.middle", "failure.bottom"]
    assert stale["failure.on-expired"].cause == "knowledge.expired"
    assert "expired on 2026-01-01" in stale["failure.on-expired"].reason
    assert stale["knowledge.uses-old"].reason == "is superseded by policy.new"
    assert "knowledge.fine" not in stale and "failure.bottom" not in stale
    assert [e.page for e in report.expired] == ["knowledge.expired"]
    problem = next(p for p in report.problems() if p.path == "policies/top.md")
    assert problem.code == "stale-dependency"
    assert "policy.top -> intervention.middle -> failure.bottom" in problem.message


def test_stale_dependency_through_changed_code(repo):
    add_cite(repo, "policy.keep-default", CITED)
    write(
        repo,
        "wiki/knowledge/rests.md",
        page_text(
            "knowledge.rests", "knowledge_card", "Rests", extra="dependsOn: [policy.keep-default]\n"
        ),
    )
    write(repo, "src/db/schema.ts", SCHEMA.replace("now()", "current_timestamp"))
    report = doctor(repo, today=TODAY, duplicates=False)
    [dep] = report.stale_dependencies
    assert dep.chain == ["knowledge.rests", "policy.keep-default"]
    assert dep.reason == "cites src/db/schema.ts:10-24, which changed"


def test_contradicting_accepted_pages_and_claims_whose_source_is_gone(repo):
    write_files(repo.root, GRAPH)
    report = doctor(repo, today=TODAY, duplicates=False)
    assert [(c.a, c.b) for c in report.contradictions] == [("knowledge.a", "knowledge.b")]
    gone = {(g.page, g.source, g.reason) for g in report.sources_gone}
    assert gone == {
        ("claim.from-retired", "source.retired", "is deprecated"),
        ("claim.from-missing", "source.gone", "is gone (no such page)"),
    }


def test_contradictions_are_graded_like_the_trust_rules(repo):
    reviewed = "status: accepted\nreview: {reviewer: r, reviewedAt: 2026-01-01, rationale: r, "
    write_files(
        repo.root,
        {
            "policies/keep.md": page_text(
                "policy.keep", "policy", "Keep", extra=reviewed + "evidence: [claim.bump]}\n"
            ),
            "policies/bump.md": page_text(
                "policy.bump",
                "policy",
                "Bump",
                extra=reviewed + "evidence: [claim.bump]}\ncontradicts: [policy.keep]\n",
            ),
            "wiki/claims/bump.md": page_text(
                "claim.bump",
                "claim",
                "Bump",
                extra="status: accepted\ncontradicts: [policy.keep]\n",
            ),
        },
    )
    report = doctor(repo, today=TODAY, duplicates=False)
    kinds = {(c.a, c.b): c.kind for c in report.contradictions}
    assert kinds == {
        ("policy.bump", "policy.keep"): "rules",
        ("claim.bump", "policy.keep"): "overruled",
    }
    problems = [p for p in report.problems() if p.code == "contradiction"]
    # Two reviewed rules: an error (as in `check`); a rule overruling accepted evidence: no problem.
    assert [(p.severity, p.path) for p in problems] == [("error", "policies/bump.md")]
    assert "briefs show neither as a rule" in problems[0].message


def test_stale_warnings_for_briefs(repo):
    write_files(repo.root, GRAPH)
    add_cite(repo, "policy.keep-default", CITED)
    write(repo, "src/db/schema.ts", SCHEMA.replace("now()", "current_timestamp"))
    pages = repo.scan().pages()
    warnings = stale_warnings(pages, repo.root, TODAY)
    assert warnings["policy.keep-default"] == [
        "this page cites src/db/schema.ts:10-24, which changed"
    ]
    assert warnings["policy.top"] == [
        "depends on failure.bottom, which is deprecated "
        "(policy.top -> intervention.middle -> failure.bottom)"
    ]
    assert warnings["claim.from-missing"] == ["its source source.gone is gone (no such page)"]
    assert "failure.bottom" not in warnings  # retired pages are excluded by briefs anyway
    assert "knowledge.fine" not in warnings
    # A brief asks about its own pages only; their dependencies are still followed.
    few = stale_warnings(pages, repo.root, TODAY, only={"policy.top", "knowledge.fine"})
    assert few == {"policy.top": warnings["policy.top"]}


def test_a_healthy_knowledge_base_has_no_findings(repo, cli):
    add_cite(repo, "policy.keep-default", CITED)
    report = doctor(repo, today=TODAY)
    assert report.ok and report.cites == {"fresh": 1}
    assert not report.duplicates.ran and "no index" in report.duplicates.reason
    result = cli(repo.root, "doctor", "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["ok"] is True


def test_doctor_cli_exit_1_and_json(repo, cli):
    write_files(repo.root, GRAPH)
    result = cli(repo.root, "doctor", "--json", "--no-duplicates")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert {s["page"] for s in data["stale_dependencies"]} >= {"policy.top", "knowledge.uses-old"}
    text = cli(repo.root, "doctor", "--no-duplicates")
    assert text.exit_code == 1 and "stale-dependency" in text.stdout


def test_doctor_against_another_repository(repo, tmp_path, cli):
    add_cite(repo, "policy.keep-default", CITED)
    other = write_files(tmp_path / "other", {"src/db/schema.ts": "changed\n"})
    report = doctor(repo, repo=other, today=TODAY, duplicates=False)
    assert report.cite_findings[0].status == "changed" and report.repo == str(other)
    result = cli(repo.root, "doctor", "--repo", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_check_stale_reports_changed_citations(repo, cli):
    add_cite(repo, "policy.keep-default", CITED)
    assert cli(repo.root, "check").exit_code == 0
    assert cli(repo.root, "check", "--stale").exit_code == 0
    write(repo, "src/db/schema.ts", SCHEMA.replace("now()", "current_timestamp"))
    assert cli(repo.root, "check").exit_code == 0, "plain check does not look at code"
    result = cli(repo.root, "check", "--stale", "--json")
    assert result.exit_code == 1
    codes = {p["code"] for p in json.loads(result.stdout)["problems"]}
    assert codes == {"cite-changed"}


def test_cite_add_cli_and_propose(repo, cli):
    result = cli(repo.root, "cite", "add", "policy.keep-default", CITED, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["action"] == "added"
    git(repo.root, "commit", "-qam", "cite")
    before = snapshot(repo.root)
    moved = HEADER + ["// one more line"] + FUNCTION
    write(repo, "src/db/schema.ts", "\n".join(moved) + "\n")
    git(repo.root, "commit", "-qam", "move")
    before = snapshot(repo.root)
    result = cli(
        repo.root, "cite", "add", "policy.keep-default", "src/db/schema.ts:11-25", "--propose"
    )
    assert result.exit_code == 0, result.stderr
    assert snapshot(repo.root) == before
    assert branches(repo.root) == ["xos/cite/policy.keep-default"]
    shown = git(repo.root, "show", "xos/cite/policy.keep-default:policies/keep-default.md")
    assert "lines: 11-25" in shown and "10-24" not in shown
    bad = cli(repo.root, "cite", "add", "policy.keep-default", "../x.ts")
    assert bad.exit_code == 2 and "not inside the repository" in bad.stderr
    missing = cli(repo.root, "cite", "add", "policy.nope", CITED)
    assert missing.exit_code == 2


# --- near-duplicates from the index's vectors ---------------------------------------------------

from experimentos.index.embeddings import embeddings_installed  # noqa: E402

needs_model = pytest.mark.skipif(not embeddings_installed(), reason="embeddings extra missing")

TWINS = {
    "wiki/failures/pin-bump.md": page_text(
        "failure.pin-bump",
        "failure",
        "Agents bump a pinned dependency because an issue thread said so",
        body="## Symptoms\n\nThe agent upgrades drizzle-kit from the pinned 0.30.4 to the latest "
        "release because a GitHub issue says the upgrade fixes the migration default. The tests "
        "then fail on the new migration folder layout.\n",
    ),
    "wiki/failures/pin-bump-again.md": page_text(
        "failure.pin-bump-again",
        "failure",
        "Agents bump a pinned dependency because an issue thread says so",
        body="## Symptoms\n\nThe agent upgrades drizzle-kit from the pinned 0.30.4 to the latest "
        "release because a GitHub issue says the upgrade fixes the migration default. Then the "
        "tests fail on the new migration folder layout.\n",
    ),
    "wiki/knowledge/quoting.md": page_text(
        "knowledge.quoting",
        "knowledge_card",
        "Shell quoting layers",
        body="Inside single quotes nothing expands; double quotes still expand dollar signs.\n",
    ),
}


@needs_model
def test_near_duplicates_come_from_the_index_vectors_without_embedding(repo, monkeypatch):
    from experimentos.index import Index
    from experimentos.index.embeddings import MiniLMEmbedder

    (repo.root / "experimentos.toml").write_text('[index]\nembedder = "minilm"\n')
    write_files(repo.root, TWINS)
    ws = Workspace(repo.root)
    Index(ws).sync()

    def no_embedding(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("doctor must not embed")

    monkeypatch.setattr(MiniLMEmbedder, "embed", no_embedding)
    report = doctor(ws, today=TODAY, threshold=0.95)
    assert report.duplicates.ran and report.duplicates.skipped == 0
    pairs = [(d.a, d.b) for d in report.near_duplicates]
    assert pairs == [("failure.pin-bump", "failure.pin-bump-again")]
    assert report.near_duplicates[0].score >= 0.95
    assert any(p.code == "near-duplicate" for p in report.problems())

    # A page changed since the last sync is left out (its vector describes older text).
    write(
        ws,
        "wiki/failures/pin-bump-again.md",
        page_text(
            "failure.pin-bump-again", "failure", "Something else entirely", body="Other text.\n"
        ),
    )
    later = doctor(ws, today=TODAY, threshold=0.95)
    assert later.near_duplicates == [] and later.duplicates.skipped == 1
    assert "run `experimentos index`" in later.duplicates.reason


def test_a_fifo_or_a_directory_cited_is_unreadable_and_never_blocks(repo):
    os.mkfifo(repo.root / "src" / "pipe.ts")
    page = (repo.root / "policies/keep-default.md").read_text(encoding="utf-8")
    page = page.replace("title:", "cites:\n  - {path: src/pipe.ts}\n  - {path: src/db}\ntitle:")
    (repo.root / "policies/keep-default.md").write_text(page, encoding="utf-8")
    report = doctor(repo, today=TODAY, duplicates=False)
    states = {c.path: (c.status, c.message) for c in report.cite_findings}
    assert states["src/pipe.ts"][0] == "unreadable" and "FIFO" in states["src/pipe.ts"][1]
    assert states["src/db"][0] == "unreadable"
