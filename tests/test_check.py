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


def _trust_kb(kb, pages: dict[str, str]) -> None:
    for rel, text in pages.items():
        write(kb, rel, text)


RULE = f"status: accepted\n{REVIEW}"


def test_evidence_that_supersedes_a_reviewed_rule_is_an_error(empty_kb):
    _trust_kb(
        empty_kb,
        {
            "wiki/sources/s.md": page_text("source.s", "source"),
            "policies/keep.md": page_text("policy.keep", "policy", extra=RULE),
            "policies/newer.md": page_text(
                "policy.newer", "policy", extra=RULE + "supersedes: [policy.older]\n"
            ),
            "policies/older.md": page_text("policy.older", "policy", extra="status: superseded\n"),
            # evidence overriding a reviewed rule: an accepted claim and an unreviewed policy
            "wiki/claims/c.md": page_text(
                "claim.c", "claim", extra="status: accepted\nsupersedes: [policy.keep]\n"
            ),
            "policies/unreviewed.md": page_text(
                "policy.unreviewed", "policy", extra="status: accepted\nsupersedes: [policy.keep]\n"
            ),
            # a draft replacement on its way through review is a proposal, not an override
            "policies/draft.md": page_text(
                "policy.draft", "policy", extra="supersedes: [policy.keep]\n"
            ),
        },
    )
    report = check(empty_kb, today=dt.date(2026, 6, 1))
    found = [(p.path, p.field, p.code) for p in report.problems if p.code != "review-missing"]
    assert found == [
        ("wiki/claims/c.md", "supersedes", "supersede-by-evidence"),
        ("policies/unreviewed.md", "supersedes", "supersede-by-evidence"),
    ]
    claim = next(p for p in report.problems if p.path == "wiki/claims/c.md")
    assert "claim.c supersedes policy.keep" in claim.message and "evidence" in claim.message


def test_contradicting_reviewed_rules_are_an_error_directly_or_through_an_accepted_page(empty_kb):
    _trust_kb(
        empty_kb,
        {
            "wiki/sources/s.md": page_text("source.s", "source"),
            "policies/a.md": page_text(
                "policy.a", "policy", extra=RULE + "contradicts: [policy.b]\n"
            ),
            "policies/b.md": page_text("policy.b", "policy", extra=RULE + "expires: 2027-01-01\n"),
            # through an accepted page: c contradicts the failure that intervention d rests on
            "wiki/failures/f.md": page_text("failure.f", "failure", extra="status: accepted\n"),
            "policies/c.md": page_text(
                "policy.c", "policy", extra=RULE + "contradicts: [failure.f]\n"
            ),
            "wiki/interventions/d.md": page_text(
                "intervention.d", "intervention", extra=RULE + "dependsOn: [failure.f]\n"
            ),
            # a claim contradicting a rule is ordinary evidence, and a draft rule decides nothing
            "wiki/claims/e.md": page_text(
                "claim.e", "claim", extra="status: accepted\ncontradicts: [policy.b]\n"
            ),
            "policies/g.md": page_text("policy.g", "policy", extra="contradicts: [policy.b]\n"),
        },
    )
    report = check(empty_kb, today=dt.date(2026, 6, 1))
    errors = sorted((p.path, p.field, p.code, p.message) for p in report.errors)
    assert [f[:3] for f in errors] == [
        ("policies/a.md", "contradicts", "contradiction"),
        ("policies/c.md", "contradicts", "contradiction"),
    ]
    assert "policy.a and policy.b contradict each other" in errors[0][3]
    assert "policy.c contradicts failure.f, which intervention.d rests on" in errors[1][3]
    # c contradicts reviewed background (an accepted failure): a warning, the rule applies.
    warnings = [(p.path, p.code, p.message) for p in report.warnings]
    assert [w[:2] for w in warnings] == [("policies/c.md", "contradiction")]
    assert "policy.c and failure.f contradict each other" in warnings[0][2]
    # An expired review is no longer a rule, so that pair no longer conflicts (a warning instead).
    later = check(empty_kb, today=dt.date(2030, 1, 1))
    assert [p.path for p in later.errors if p.code == "contradiction"] == ["policies/c.md"]
