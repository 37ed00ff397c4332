import datetime as dt

import pytest
from pydantic import ValidationError

from experimentos.models.knowledge import Page, PageType, slug_problem
from experimentos.store import parse_document


def parse(frontmatter: str, path: str = "policies/p.md") -> Page:
    return parse_document(f"---\n{frontmatter}---\n\nBody\n".encode(), path).page


def test_version_like_floats_keep_their_text():
    page = parse(
        "id: policy.p\ntype: policy\ntitle: 1.10\nappliesTo:\n  versions: 1.10\ntags: [1.10, 2]\n"
    )
    assert page.title == "1.10"
    assert page.applies_to.versions == "1.10"
    assert page.tags == ["1.10", "2"]


def test_dates_nulls_and_yaml11_booleans_are_normalised():
    page = parse(
        "id: policy.p\ntype: policy\ntitle: T\nappliesTo:\n  agent: no\n"
        "dependsOn: null\nexpires: 2027-01-01\n"
        "review: {reviewer: me, reviewedAt: '2026-04-26', rationale: r, evidence: [source.a]}\n"
    )
    assert page.applies_to.agent == "no"  # YAML 1.1 would have made this False
    assert page.depends_on == []
    assert page.expires == dt.date(2027, 1, 1)
    assert page.review.reviewed_at == dt.date(2026, 4, 26)


def test_id_prefix_must_match_type():
    with pytest.raises(ValidationError, match="must start with 'failure.'"):
        Page(id="policy.x", type=PageType.failure, title="T")


@pytest.mark.parametrize(
    "ref",
    [
        "policy../etc",
        "policy.a/b",
        "Policy.x",
        "policy.",
        "policy.-x",
        "x",
        "policy.a\x00",
        "a.b\n",
    ],
)
def test_unsafe_references_are_refused(ref):
    with pytest.raises(ValidationError):
        Page(id="policy.x", type=PageType.policy, title="T", depends_on=[ref])


@pytest.mark.parametrize(
    "slug,ok",
    [
        ("keep-pins", True),
        ("v1.2-notes", True),
        ("a..b", False),
        ("a/b", False),
        ("", False),
        ("UPPER", False),
        ("x" * 121, False),
        ("trailing.", False),
        ("-x", False),
        ("abc\n", False),
    ],
)
def test_slug_rules(slug, ok):
    assert (slug_problem(slug) is None) is ok


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        Page.model_validate({"id": "policy.x", "type": "policy", "title": "T", "dependson": []})
