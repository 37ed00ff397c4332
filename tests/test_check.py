import datetime as dt

from experimentos.knowledge.check import check

from .conftest import page_text

REVIEW = (
    "review:\n  reviewer: me\n  reviewedAt: 2026-01-01\n  rationale: r\n  evidence: [source.s]\n"
)


def write(kb, rel, text):
    path = kb.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def codes(report):
    return sorted((p.path, p.field, p.code, p.severity) for p in report.problems)


def test_starter_knowledge_is_clean(kb):
    report = check(kb)
    assert report.pages >= 15
    assert report.problems == []


def test_every_semantic_problem_has_path_field_and_code(empty_kb):
    write(empty_kb, "wiki/sources/s.md", page_text("source.s", "source"))
    write(
        empty_kb,
        "policies/no-review.md",
        page_text("policy.no-review", "policy", extra="status: accepted\n"),
    )
    write(
        empty_kb,
        "wiki/interventions/no-evidence.md",
        page_text(
            "intervention.no-evidence",
            "intervention",
            extra="status: accepted\nreview: {reviewer: me, reviewedAt: 2026-01-01}\n",
        ),
    )
    write(
        empty_kb,
        "policies/dangling.md",
        page_text(
            "policy.dangling",
            "policy",
            extra="dependsOn: [failure.nope]\n",
            body="Links to [[claim.nowhere]].",
        ),
    )
    write(
        empty_kb,
        "wiki/failures/a.md",
        page_text("failure.a", "failure", extra="dependsOn: [failure.b]\n"),
    )
    write(
        empty_kb,
        "wiki/failures/b.md",
        page_text("failure.b", "failure", extra="dependsOn: [failure.a]\n"),
    )
    write(empty_kb, "wiki/failures/c.md", page_text("failure.a", "failure"))  # duplicate id
    write(
        empty_kb,
        "policies/old.md",
        page_text("policy.old", "policy", extra=f"status: accepted\n{REVIEW}expires: 2026-01-02\n"),
    )
    write(
        empty_kb,
        "policies/bad-evidence.md",
        page_text(
            "policy.bad-evidence", "policy", extra=REVIEW.replace("source.s", "claim.missing")
        ),
    )
    write(empty_kb, "wiki/notes.txt", "stray")
    write(empty_kb, "wiki/failures/Bad Name.md", "x")

    report = check(empty_kb, today=dt.date(2026, 6, 1))
    assert codes(report) == [
        ("policies/bad-evidence.md", "review.evidence", "dangling-reference", "error"),
        ("policies/dangling.md", "body", "dangling-reference", "error"),
        ("policies/dangling.md", "dependsOn", "dangling-reference", "error"),
        ("policies/no-review.md", "review", "review-missing", "error"),
        ("policies/old.md", "expires", "review-expired", "warning"),
        ("wiki/failures/Bad Name.md", None, "unknown-file", "warning"),
        ("wiki/failures/a.md", "dependsOn", "dependency-cycle", "error"),
        ("wiki/failures/c.md", "id", "duplicate-id", "error"),
        ("wiki/failures/c.md", "id", "id-path-mismatch", "error"),
        ("wiki/interventions/no-evidence.md", "review.evidence", "review-missing", "error"),
        ("wiki/interventions/no-evidence.md", "review.rationale", "review-missing", "error"),
        ("wiki/notes.txt", None, "unknown-file", "warning"),
    ]
    cycle = next(p for p in report.problems if p.code == "dependency-cycle")
    assert cycle.message == "dependsOn cycle: failure.a -> failure.b -> failure.a"
    assert report.failed() and report.failed(strict=True)


def test_warnings_fail_only_in_strict_mode(empty_kb):
    write(empty_kb, "wiki/stray.txt", "x")
    report = check(empty_kb)
    assert not report.failed()
    assert report.failed(strict=True)


def test_readme_and_gitkeep_are_not_unknown(empty_kb):
    write(empty_kb, "wiki/README.md", "# The wiki\n")
    assert check(empty_kb).problems == []
