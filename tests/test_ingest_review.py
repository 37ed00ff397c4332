"""Issue 24, review round: false positives the reader took on in earlier rounds.

Each case is a class: a member's sentence that names a version for another reason than the
advice the reader used to make of it (a require() error, a backport for an older line, a clause
that only says "go so far as to", a version of another package).
"""

from __future__ import annotations

import pytest

from .test_ingest_reading import _keys_after, acme_payload, claims_by_key, plan

BROKEN_202 = "`bulk_insert` drops rows on acme-orm 2.0.2."


def _member_says(body: str, reported: str | None = None, user: str | None = None):
    payload = acme_payload()
    if reported:
        payload["issue"]["body"] = reported
    if user:
        payload["comments"][1]["body"] = user
    payload["comments"][3]["author_association"] = "MEMBER"
    payload["comments"][3]["body"] = body
    result, _ = plan(payload)
    return result


def _by(result, who: str) -> list[tuple[str, str]]:
    return [(c.kind, c.target) for c in result.claims if who in c.said_by]


def _contradicted(result) -> list[str]:
    return [c.target for c in result.claims if any(x.kind == "contradicted" for x in c.corrections)]


# --- A. a require() error is not the old module system asked for ----------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Upgrade to 2.1.0, it fixes the require() error.",
        "Please upgrade to 2.1.0: the CommonJS build no longer throws.",
        "Upgrade to 2.1.0, it fixes `require()` of the ESM entry point.",
        "Upgrade to acme-orm 2.1.0; the cjs bundle was broken in 2.0.x.",
    ],
)
def test_an_upgrade_that_fixes_a_require_error_stays_an_upgrade(body):
    result = _member_says(body)
    assert ("upgrade", "2.1.0") in _by(result, "acme-dev")
    assert ("downgrade", "2.1.0") not in _by(result, "acme-dev")


@pytest.mark.parametrize(
    "body",
    [
        "You can also use version 1.9.8 if you need CommonJS.",
        "For CommonJS users, use acme-orm 1.9.8.",
        "If you still use require(), install acme-orm 1.9.8.",
        "Use acme-orm 1.9.8 for cjs projects.",
    ],
)
def test_a_version_offered_for_the_old_module_system_goes_back(body):
    result = _member_says(body, reported=BROKEN_202)
    assert ("downgrade", "1.9.8") in _by(result, "acme-dev")


# --- B. an upgrade to a backport on an older line stays an upgrade ----------------------------


@pytest.mark.parametrize(
    "body,reported,target",
    [
        (
            "The backport is out too: upgrade to acme-orm 1.9.8 if you can't move to 2.1.0 yet.",
            BROKEN_202,
            "1.9.8",
        ),
        ("Upgrade to acme-orm 1.9.8 on the 1.x line.", BROKEN_202, "1.9.8"),
        # 0.x: every minor is its own line
        ("Upgrade to acme-orm 0.8.5 if you are on 0.8.", "Broken on acme-orm 0.9.1.", "0.8.5"),
    ],
)
def test_an_upgrade_to_a_backport_on_an_older_line_stays_an_upgrade(body, reported, target):
    result = _member_says(body, reported=reported)
    assert ("upgrade", target) in _by(result, "acme-dev")
    assert ("downgrade", target) not in _by(result, "acme-dev")


@pytest.mark.parametrize(
    "body,reported,target",
    [
        ("Upgrade to acme-orm 2.0.1.", BROKEN_202, "2.0.1"),
        ("Upgrade to acme-orm 1.6.1.", "Broken on acme-orm 1.6.2.", "1.6.1"),
        ("Upgrade to acme-orm 0.9.0.", "Broken on acme-orm 0.9.1.", "0.9.0"),
    ],
)
def test_an_upgrade_below_the_broken_version_on_its_line_still_goes_back(body, reported, target):
    result = _member_says(body, reported=reported)
    assert ("downgrade", target) in _by(result, "acme-dev")


# --- C. "go so far as to" is no move; an act and its verdict are one clause -------------------


@pytest.mark.parametrize(
    "body",
    [
        "I wouldn't go so far as to call acme-orm 2.1.0 a fix for everyone, but it fixes this bug.",
        "I wouldn't go as far as saying acme-orm 2.1.0 fixes everything, but it fixes this.",
        "I would not go that far and call acme-orm 2.1.0 a fix for all, but it fixes this bug.",
    ],
)
def test_go_so_far_as_is_not_a_move_to_avoid(body):
    result = _member_says(body)
    assert ("avoid", "2.1.0") not in _by(result, "acme-dev")
    assert "2.1.0" not in _contradicted(result)


@pytest.mark.parametrize(
    "text",
    [
        "Don't go to 2.1.0, it corrupts sessions.",
        "I wouldn't go over to 2.1.0.",
        "I wouldn't go up to 2.1.0 yet.",
    ],
)
def test_go_to_a_version_is_still_a_move(text):
    assert "avoid-acme-orm-2.1.0" in _keys_after(text)


@pytest.mark.parametrize(
    "text",
    [
        "Upgrading to acme-orm 2.1.0 fixed it and the old workaround is not recommended anymore",
        "Upgrading to acme-orm 2.1.0 fixed it, the flush workaround is not recommended now.",
        "I upgraded to acme-orm 2.1.0 and it works; pinning is not recommended anymore.",
        "Upgrading to acme-orm 2.1.0 fixed it but the workaround is not recommended.",
    ],
)
def test_a_verdict_in_another_clause_does_not_avoid_the_act(text):
    assert "avoid-acme-orm-2.1.0" not in _keys_after(text)


@pytest.mark.parametrize(
    "text",
    [
        "Upgrading to acme-orm 2.1.0 is not recommended yet.",
        "Upgrading to 2.1.0 would be a bad idea.",
        "Installing acme-orm 2.1.0 on 1.x projects is discouraged.",
    ],
)
def test_a_verdict_on_the_act_in_its_own_clause_still_avoids_it(text):
    assert [k for k in _keys_after(text) if k.startswith("avoid-acme-orm-2")]


# --- D. a version another package name precedes is that package's ----------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Works here with sqlalchemy 2.0.30, please upgrade.",
        "Fine with psycopg 3.1.18 here, please upgrade.",
        "Works with SQLAlchemy v2.0.30 on my side, upgrade.",
    ],
)
def test_a_version_of_another_package_is_not_the_librarys(body):
    result = _member_says(body)
    claims = claims_by_key(result)
    assert not [k for k in claims if "acme-orm-2.0.30" in k or "acme-orm-3.1.18" in k]
    assert not [t for k, t in _by(result, "acme-dev") if t in ("2.0.30", "v2.0.30", "3.1.18")]
