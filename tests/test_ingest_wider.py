"""Issue 24, read wider: the acme-orm thread of the issue re-run with other names, versions and
phrasings (as the outside trial does), and made-up threads in the same shapes, with look-alike
negatives. Each family is a rule, not a listed sentence:

- a version a sentence reports broken ("Same on N") stays reported broken when a later sentence
  of the same comment says something else fixed it: "fixed it" belongs to the version its own
  sentence names;
- a lower bound given as what fixed it (`pip install x>=N`, "Installing `x>=N` solved it") is an
  upgrade to N or later, not a pin;
- an unnamed "please upgrade" next to the release with the fix ("The fix shipped in N, please
  upgrade") is an upgrade to N, not to the latest version; the users' upgrade claims stay theirs,
  endorsed by the maintainer, whatever authorAssociation says.
"""

from __future__ import annotations

import datetime as dt

import pytest

from experimentos.lifecycle.ingest import plan_ingest
from experimentos.lifecycle.ingest.scope import thread_scope
from experimentos.lifecycle.ingest.speakers import identify_speakers
from experimentos.lifecycle.ingest.thread import parse_payload

TODAY = dt.date(2026, 1, 5)

# (package, broken, broken too, fixed, the fix's minor as `>=` names it)
LINES = [
    ("acme-orm", "2.0.3", "2.0.4", "2.1.0", "2.1"),
    ("sqlrite2", "6.23.11", "6.23.12", "6.24.0", "6.24"),
    ("fennec.db", "11.4.0", "11.4.1", "11.5.0", "11.5"),
    ("Pebble-Store", "3.9.19", "3.9.20", "3.10.0", "3.10"),
]


def acme_like(
    package: str,
    broken: str,
    broken_too: str,
    fixed: str,
    *,
    same: str = "Same on {b2}. Upgrading to {p} {f} fixed it for me.",
    pip: str = "`pip install '{p}>={fm}'` solved it here too.",
    maintainer: str = "Thanks for the report. {f} is the release with the fix, please upgrade.",
    association: str | None = None,
    login: str = "acme-dev",
) -> dict:
    """The issue's acme-orm thread with another package, other versions and other words."""
    minor = ".".join(fixed.split(".")[:2])
    words = {"p": package, "b": broken, "b2": broken_too, "f": fixed, "fm": minor}
    words["rc"] = f"{fixed}rc2"

    def comment(who: str, text: str, assoc: str | None = None) -> dict:
        row = {"user": {"login": who}, "body": text.format(**words)}
        return row | ({"author_association": assoc} if assoc else {})

    opening = (
        "After upgrading to {p} {b}, `session.bulk_insert(rows)` drops every row whose columns "
        "have a server default.\n\n```python\nsession.bulk_insert([User(name='a')])\n"
        "assert session.query(User).count() == 1  # 0 on {p} {b}\n```\n\n"
        "{p} {b}, Python 3.12, PostgreSQL 16. I see {rc} on PyPI, does it fix this?"
    )
    return {
        "issue": {
            "title": "`bulk_insert` silently drops rows whose columns have a server default",
            "html_url": f"https://github.com/org7/{package.lower()}/issues/812",
            "user": {"login": "dana-k"},
            "created_at": "2025-12-01T00:00:00Z",
            "body": opening.format(**words),
        },
        "comments": [
            comment("sam-r", "{rc} has the fix if you pass `--pre` to pip, until {f} is out."),
            comment("lee-w", same),
            comment("pat-o", pip),
            comment(login, maintainer, association),
        ],
    }


def plan(payload: dict):
    result, _ = plan_ingest(parse_payload(payload, "wider.json"), today=TODAY)
    return result


def upgrades_to(result, fixed: str) -> list:
    """The upgrade claims whose target is `fixed` or its minor line and later."""
    minor = ".".join(fixed.split(".")[:2])
    return [c for c in result.claims if c.kind == "upgrade" and c.target in (fixed, f">={minor}")]


def made_up(*bodies: str, title: str = "Nested routes render twice", repo: str = "kes/tiny-router"):
    """A made-up thread's scope: the first body is the opening post."""
    issue = {
        "title": title,
        "html_url": f"https://github.com/{repo}/issues/3",
        "user": {"login": "reporter"},
        "body": bodies[0],
    }
    rows = [{"user": {"login": f"user{n}"}, "body": b} for n, b in enumerate(bodies[1:])]
    thread = identify_speakers(parse_payload({"issue": issue, "comments": rows}, "made-up"))
    return thread_scope(thread)


# --- family 1: "Same on N. <something> fixed it": N stays broken -----------------------------

SAME_THEN_FIXED = [
    "Same on {b2}. {p} {f} fixed it for me.",
    "Same on {b2}. I upgraded to {f} and it works now.",
    "Same on {b2}. Just upgraded to {p} {f}, problem gone.",
    "Same on {b2}. {f} fixed it.",
    "Same on {b2}; {p} {f} fixed it for me.",
    "Same here on {b2}, but {f} fixed it.",
    "Same on {b2}, {p} {f} fixed it for me.",
    "Also broken on {b2}. upgrading to {f} solved it.",
]


@pytest.mark.parametrize("line", LINES, ids=[line[0] for line in LINES])
@pytest.mark.parametrize("same", SAME_THEN_FIXED)
def test_a_version_said_broken_stays_broken_when_the_next_sentence_names_the_fix(line, same):
    package, broken, broken_too, fixed, minor = line
    result = plan(acme_like(package, broken, broken_too, fixed, same=same))
    assert result.range_how.startswith(
        f"reported on {broken}, {broken_too}; fixed or working in {fixed}"
    ), result.range_how
    ups = upgrades_to(result, fixed)
    assert ups and {c.range for c in ups} == {f">={broken},<{fixed}"}, [
        (c.target, c.range) for c in result.claims
    ]


OPENING = "After `npm i tiny-router@4.2.0` nested routes render twice."


@pytest.mark.parametrize(
    "reply",
    [
        "Same on 4.2.1. tiny-router 4.3.0 fixed it for me.",
        "Same on 4.2.1. 4.3.0 fixed it.",
        "Still broken on 4.2.1. Just upgraded to tiny-router 4.3.0, problem gone.",
        "Same with 4.2.1, 4.3.0 fixed it for me.",
        "Same on 4.2.1. bumping tiny-router to 4.3.0 solved it.",
    ],
)
def test_made_up_threads_keep_the_broken_version_and_the_fix(reply):
    scope = made_up(OPENING, reply)
    assert scope.affected == ["4.2.0", "4.2.1"], scope.how
    assert scope.range == ">=4.2.0 <4.3.0", scope.how


@pytest.mark.parametrize(
    "reply,affected,high",
    [
        # the version the fixing sentence names is the fix
        ("4.2.1 fixed it for me.", ["4.2.0"], "4.2.1"),
        ("Works on 4.2.1. 4.3.0 is out too.", ["4.2.0"], "4.2.1"),
        # nothing fixed: both stay broken
        ("Same on 4.2.1. 4.3.0 did not fix it either.", ["4.2.0", "4.2.1", "4.3.0"], "5.0.0"),
        ("Same on 4.2.1 and 4.3.0, nothing fixed it.", ["4.2.0", "4.2.1", "4.3.0"], "5.0.0"),
    ],
)
def test_look_alikes_keep_their_reading(reply, affected, high):
    scope = made_up(OPENING, reply)
    assert scope.affected == affected, scope.how
    assert scope.range == f">=4.2.0 <{high}", scope.how


# --- family 2: a lower bound given as what fixed it is an upgrade to it or later -----------------

LOWER_BOUND_FIXED = [
    "`pip install '{p}>={fm}'` solved it here too.",
    "Installing `{p}>={fm}` solved it here too.",
    "`pip install --upgrade '{p}>={fm}'` fixed it.",
    "`pip install {p}>={fm}` worked for me too.",
    "Adding `{p}>={fm}` to requirements.txt fixed it.",
    "Setting `{p}>={fm}` in requirements.txt solved it for us.",
    "`{p}>={fm}` in requirements.txt fixed it.",
    'Ran `python -m pip install -U "{p}>={fm}"` and that solved it.',
]


@pytest.mark.parametrize("line", LINES, ids=[line[0] for line in LINES])
@pytest.mark.parametrize("pip", LOWER_BOUND_FIXED)
def test_a_lower_bound_that_fixed_it_is_an_upgrade_not_a_pin(line, pip):
    package, broken, broken_too, fixed, minor = line
    result = plan(acme_like(package, broken, broken_too, fixed, pip=pip))
    bound = [c for c in result.claims if c.said_by == ["pat-o"]]
    assert [(c.kind, c.target) for c in bound] == [("upgrade", f">={minor}")], [
        (c.kind, c.target, c.said_by) for c in result.claims
    ]
    assert bound[0].action.lower() == f"upgrade {package.lower()} to {minor} or later"
    assert bound[0].range == f">={broken},<{fixed}" and bound[0].speaker == "user"


@pytest.mark.parametrize(
    "reply,kind,target",
    [
        ("Installing `tiny-router>=4.3` solved it.", "upgrade", ">=4.3"),
        ("Adding `tiny-router>4.2.0` to requirements.txt fixed it.", "upgrade", ">4.2.0"),
        # look-alikes: an upper bound or a bounded range holds the package back
        ("Adding `tiny-router<4.2` to requirements.txt fixed it.", "pin", "<4.2"),
        ("Installing `tiny-router>=4.1,<4.2` solved it.", "pin", ">=4.1,<4.2"),
        ("Adding `tiny-router==4.1.9` to requirements.txt fixed it.", "pin", "4.1.9"),
    ],
)
def test_made_up_bounds_offered_as_the_fix(reply, kind, target):
    claims = made_up_claims("After `pip install tiny-router==4.2.0` routes render twice.", reply)
    assert [(c.kind, c.target) for c in claims] == [(kind, target)], claims


@pytest.mark.parametrize(
    "reply",
    [
        "Installing `tiny-router>=4.3` did not help.",
        "Would adding `tiny-router>=4.3` to requirements.txt fix it?",
        "I added `tiny-router>=4.3` to requirements.txt and it still fails.",
    ],
)
def test_a_lower_bound_that_did_not_fix_it_is_no_advice(reply):
    claims = made_up_claims("After `pip install tiny-router==4.2.0` routes render twice.", reply)
    assert not [c for c in claims if c.kind in ("upgrade", "pin", "downgrade")], claims


def made_up_claims(*bodies: str, repo: str = "kes/tiny-router") -> list:
    """The claims of a made-up thread: the first body is the opening post."""
    issue = {
        "title": "Nested routes render twice",
        "html_url": f"https://github.com/{repo}/issues/3",
        "user": {"login": "reporter"},
        "body": bodies[0],
    }
    rows = [{"user": {"login": f"user{n}"}, "body": b} for n, b in enumerate(bodies[1:])]
    return plan({"issue": issue, "comments": rows}).claims


# --- family 3: "The fix shipped in N, please upgrade" is an upgrade to N --------------------------

SHIPPED_PLEASE_UPGRADE = [
    "The fix shipped in {f}, please upgrade.",
    "{f} is out with the fix, please upgrade.",
    "The fix is in {f}, please upgrade.",
    "The fix landed in {f}. Please upgrade.",
    "Please upgrade: {f} has the fix.",
    "Please upgrade, the fix went out in {f}.",
]
ASSOCIATIONS = [None, "MEMBER", "OWNER", "COLLABORATOR"]


@pytest.mark.parametrize("association", ASSOCIATIONS)
@pytest.mark.parametrize("line", LINES[:3], ids=[line[0] for line in LINES[:3]])
@pytest.mark.parametrize("words", SHIPPED_PLEASE_UPGRADE)
def test_please_upgrade_after_the_release_with_the_fix_is_an_upgrade_to_it(
    words, line, association
):
    package, broken, broken_too, fixed, minor = line
    # without authorAssociation the maintainer is read from "Thanks for the report."
    said = words if association else f"Thanks for the report. {words}"
    payload = acme_like(
        package, broken, broken_too, fixed, maintainer=said, association=association
    )
    result = plan(payload)
    seen = [(c.kind, c.target, c.said_by) for c in result.claims]
    assert not [c for c in result.claims if c.target == "latest"], seen
    upgrade = next(c for c in result.claims if c.kind == "upgrade" and c.target == fixed)
    # the users' claim, which the maintainer repeats: endorsed, never contradicted
    assert upgrade.said_by == ["lee-w", "acme-dev"] and upgrade.speaker == "user", seen
    assert upgrade.stance == "endorsed"
    bound = next(c for c in result.claims if c.target == f">={minor}")
    assert (bound.kind, bound.speaker, bound.stance) == ("upgrade", "user", "endorsed")
    assert [e.by for e in bound.endorsements] == ["acme-dev"]
    for claim in (upgrade, bound):
        assert not [x for x in claim.corrections if x.kind == "contradicted"]
        assert claim.range == f">={broken},<{fixed}"


@pytest.mark.parametrize(
    "reply,target",
    [
        ("The fix shipped in 4.3.0, please upgrade.", "4.3.0"),
        ("tiny-router 4.3.0 is out with the fix, please upgrade.", "4.3.0"),
        ("The fix is in v4.3.0 - please update.", "4.3.0"),
        # look-alikes: the version named is the broken one, or none is named
        ("The bug came with 4.2.0, please upgrade.", "latest"),
        ("Please upgrade to the latest version.", "latest"),
        ("It looks like you're using v4.2.x, which is old. Please upgrade.", "latest"),
    ],
)
def test_made_up_maintainers_please_upgrade(reply, target):
    claims = made_up_claims(
        "After `npm i tiny-router@4.2.0` nested routes render twice.", f"Thanks! {reply}"
    )
    assert [(c.kind, c.target) for c in claims if c.kind == "upgrade"] == [("upgrade", target)], [
        (c.kind, c.target) for c in claims
    ]
