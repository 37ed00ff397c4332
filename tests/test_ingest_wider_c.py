"""Issue 24, the acme-orm thread read "wider" (third set): the maintainer's "don't upgrade a 1.x
project to 2.x" said with the line as the verb's object ("Don't upgrade 1.x projects to 2.x"),
with other verbs and nouns ("do not move a 1.x app to 2.x", "don't jump to 2.x", "don't migrate
your 1.x service"), as "stay on 1.x" beside the fix for the thread's own line, and right after a
version's full stop ("Fixed in 2.1.0. 1.x users should not upgrade …"); the 1.x workaround as a
gerund ("calling X works around it"). Each: an avoidance (or a pin) scoped to the old line that
contradicts none of the 2.0.x upgrades the maintainer endorsed, on variants of the issue's own
thread and on a made-up thread, with look-alike negatives (questions, narration, requests)."""

from __future__ import annotations

import pytest

from experimentos.lifecycle.ingest.text import split_sentences

from .test_ingest_reading import acme_payload
from .test_ingest_wider_b import acme_with, of_kind, pebble, summary

USERS = {
    "c1": "Upgrade acme-orm to 2.1.0, it fixed it for me.",
    "c2": "Run `pip install 'acme-orm>=2.1'`, that solved it here.",
}
HEADS = ["Fixed in 2.1.0.", "2.1.0 is the release with the fix, please upgrade."]
AVOID_ACTION = "do not upgrade acme-orm to 2.x on a 1.x project"


def on_acme(body: str, head: str = "Fixed in 2.1.0.") -> list:
    """The acme thread, the users' upgrades reworded, a MEMBER's fix release then `body`."""
    return acme_with(f"{head} {body.format(o=1, n=2)}", member=True, **USERS)


def on_pebble(body: str) -> list:
    """The made-up pebble-store thread (8.1.x broken, 8.2.0 fixes it, 7.x the old line)."""
    text = body.format(o=7, n=8).replace("session.flush()", "store.sync()")
    return pebble("Fixed in 8.2.0. " + text.replace("bulk_insert", "put_many"))


def assert_upgrades_kept(claims) -> None:
    """The users' 2.0.x upgrades: endorsed by the maintainer, contradicted by nobody."""
    for target in ("2.1.0", ">=2.1"):
        upgrade = next(c for c in claims if c.kind == "upgrade" and c.target == target)
        assert not [c for c in upgrade.corrections if c.kind == "contradicted"], summary(claims)
    upgrade = next(c for c in claims if c.kind == "upgrade" and c.target == "2.1.0")
    assert upgrade.stance == "endorsed", summary(claims)


def by_maintainer(claims, *kinds: str) -> list:
    return [c for c in claims if c.kind in kinds and c.said_by[0] in ("acme-dev", "pebble")]


# --- 1. the line as the verb's object: "Don't upgrade 1.x projects to 2.x" ---------------------

LINE_AS_OBJECT = [
    "Don't upgrade {o}.x projects to {n}.x for this. On {o}.x call `session.flush()` before "
    "`bulk_insert`.",
    "Do not upgrade your {o}.x app to {n}.x.",
    "Please don't upgrade {o}.x apps to {n}.x just for this fix.",
    "Don't update any {o}.x project to {n}.x for this.",
    "Don't upgrade {o}.x installs to {n}.x for this; call `session.flush()` first on {o}.x.",
]


@pytest.mark.parametrize("body", LINE_AS_OBJECT)
def test_the_line_as_the_object_on_a_made_up_thread(body):
    claims = on_pebble(body)
    assert [(a.subject, a.target, a.range) for a in of_kind(claims, "avoid")] == [
        ("pebble-store", ">=8", ">=7.0,<8.0")
    ], summary(claims)
    assert (
        of_kind(claims, "avoid")[0].action == "do not upgrade pebble-store to 8.x on a 7.x project"
    )


# --- 2. other verbs and nouns of the same avoidance ----------------------------------------------

OTHER_VERBS = [
    "Please do not move a {o}.x app to {n}.x just for this; on {o}.x, call `session.flush()` "
    "before `bulk_insert` as a workaround.",
    "For {o}.x: don't jump to {n}.x, use `session.flush()` before `bulk_insert` as a workaround.",
    "Don't switch a {o}.x codebase to {n}.x for this.",
    "Don't migrate your {o}.x service to {n}.x just for this fix.",
    "Don't bump a {o}.x project to {n}.x for this.",
    "On {o}.x, don't move to {n}.x for this.",
    "If you're on {o}.x, do not migrate to {n}.x yet.",
    "Please don't port your {o}.x application to {n}.x only for this.",
]


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("body", LINE_AS_OBJECT + OTHER_VERBS)
def test_the_line_as_the_object_and_other_verbs_scope_the_avoidance(body, head):
    claims = on_acme(body, head)
    avoids = of_kind(claims, "avoid")
    assert [(a.target, a.range, a.speaker, a.action) for a in avoids] == [
        (">=2", ">=1.0,<2.0", "maintainer", AVOID_ACTION)
    ], summary(claims)
    assert [w.range for w in of_kind(claims, "workaround")] in ([], [">=1.0,<2.0"])
    assert_upgrades_kept(claims)


@pytest.mark.parametrize("body", OTHER_VERBS)
def test_other_verbs_of_the_avoidance_on_a_made_up_thread(body):
    claims = on_pebble(body)
    assert [(a.subject, a.target, a.range) for a in of_kind(claims, "avoid")] == [
        ("pebble-store", ">=8", ">=7.0,<8.0")
    ], summary(claims)


LOOK_ALIKES = [
    "Did you move your 1.x app to 2.x?",  # a question
    "Should I migrate my 1.x service to 2.x for this?",
    "I moved my 1.x app to 2.x and it still fails.",  # narration
    "I didn't migrate my 1.x service to 2.x yet, so I can't tell.",
    "We did not switch our 1.x codebase to 2.x, we call `session.flush()` there.",
    "Please don't make 1.x projects upgrade to 2.x, backport the fix instead.",  # a request
    "Don't move back to 1.x, 2.1.0 fixes it.",  # going back is no upgrade
]


@pytest.mark.parametrize("body", LOOK_ALIKES)
def test_look_alikes_of_the_avoidance_are_none(body):
    claims = acme_with(acme_payload()["comments"][3]["body"], c2=body)
    assert not [a for a in of_kind(claims, "avoid") if "pat-o" in a.said_by], summary(claims)
    assert not [a for a in of_kind(claims, "avoid") if a.target == ">=1"], summary(claims)


def test_a_request_by_the_maintainer_contradicts_no_2_0_upgrade():
    claims = on_acme("Please don't make {o}.x projects upgrade to {n}.x, we will backport it.")
    assert_upgrades_kept(claims)


# --- 3. "stay on 1.x" beside the fix for the thread's own line -----------------------------------

STAYS = [
    "Stay on {o}.x if you depend on the old session API, and call `session.flush()` before "
    "`bulk_insert` there.",
    "If you rely on the old session API, stay on {o}.x and call `session.flush()` before "
    "`bulk_insert` there.",
    "Stay on {o}.x for now if you need the old session API; call `session.flush()` before "
    "`bulk_insert` there as a workaround.",
    "Projects that need the old session API should stay on {o}.x.",
    "Remain on {o}.x if you depend on the old session API.",
]


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("body", STAYS)
def test_staying_on_the_old_line_is_held_for_that_line(body, head):
    claims = on_acme(body, head)
    held = by_maintainer(claims, "pin", "avoid")
    assert [(c.kind, c.range) for c in held] == [("pin", ">=1.0,<2.0")], summary(claims)
    assert held[0].target in ("1", "1.x")
    workarounds = of_kind(claims, "workaround")
    assert [w.range for w in workarounds] == ([">=1.0,<2.0"] if "there" in body else [])
    if workarounds:
        assert workarounds[0].action == "call `session.flush()` before `bulk_insert`"
    assert_upgrades_kept(claims)


@pytest.mark.parametrize("body", STAYS)
def test_staying_on_the_old_line_on_a_made_up_thread(body):
    claims = on_pebble(body)
    held = by_maintainer(claims, "pin", "avoid")
    assert [(c.kind, c.range) for c in held] == [("pin", ">=7.0,<8.0")], summary(claims)


@pytest.mark.parametrize(
    "body",
    [
        # no fix named for the thread's line: "stick to 1.x" is the way back for its readers
        "I would stay on 1.x for now.",
        "Stay on 1.x until the fix is out.",
    ],
)
def test_staying_with_no_fix_beside_it_keeps_the_threads_line(body):
    claims = acme_with(body, member=True)
    held = by_maintainer(claims, "pin", "avoid")
    assert [(c.kind, c.range) for c in held] == [("pin", ">=2.0.3,<2.1.0")], summary(claims)


@pytest.mark.parametrize(
    "body",
    [
        "Should I stay on 1.x until 2.1.0 is out?",  # a question
        "I stayed on 1.x and it still fails there.",  # narration
    ],
)
def test_look_alikes_of_staying_give_no_pin_for_the_old_line(body):
    claims = acme_with(acme_payload()["comments"][3]["body"], c2=body)
    assert not [c for c in of_kind(claims, "pin") if "pat-o" in c.said_by], summary(claims)


# --- 4. right after a version's full stop: "Fixed in 2.1.0. 1.x users should not …" -------------

AFTER_A_VERSION = [
    "1.x users should not upgrade to 2.x for this fix. Call `session.flush()` before "
    "`bulk_insert` on 1.x.",
    "1.x projects shouldn't move to 2.x for it.",
    "1.x users: don't upgrade to 2.x for this.",
]


@pytest.mark.parametrize(
    "head", ["Fixed in 2.1.0.", "Please upgrade to 2.1.0.", "Yes, this is fixed in v2.1.0."]
)
@pytest.mark.parametrize("body", AFTER_A_VERSION)
def test_a_line_after_a_versions_full_stop_starts_a_sentence(body, head):
    claims = acme_with(f"{head} {body}", member=True, **USERS)
    avoids = of_kind(claims, "avoid")
    assert [(a.target, a.range, a.action) for a in avoids] == [
        (">=2", ">=1.0,<2.0", AVOID_ACTION)
    ], summary(claims)
    assert_upgrades_kept(claims)


@pytest.mark.parametrize("body", AFTER_A_VERSION)
def test_a_line_after_a_versions_full_stop_on_a_made_up_thread(body):
    text = body.replace("1.x", "7.x").replace("2.x", "8.x").replace("session.flush()", "s()")
    claims = pebble("Fixed in 8.2.0. " + text)
    assert [(a.target, a.range) for a in of_kind(claims, "avoid")] == [(">=8", ">=7.0,<8.0")], (
        summary(claims)
    )


@pytest.mark.parametrize(
    "text,sentences",
    [
        ("Fixed in 2.1.0. 1.x users should wait.", ["Fixed in 2.1.0.", "1.x users should wait."]),
        ("See 2.1.0. 2.0.x users: upgrade.", ["See 2.1.0.", "2.0.x users: upgrade."]),
        ("Released v3. 1.x users should wait.", ["Released v3.", "1.x users should wait."]),
        # an abbreviation's full stop ends nothing
        ("See e.g. 1.x users here.", ["See e.g. 1.x users here."]),
    ],
)
def test_a_release_line_after_a_version_starts_a_sentence(text, sentences):
    assert split_sentences(text) == sentences


# --- 5. the workaround as a gerund: "calling X works around it" -----------------------------------

GERUNDS = [
    "On {o}.x, calling `session.flush()` before `bulk_insert` works around it.",
    "For {o}.x, calling `session.flush()` before `bulk_insert` is a workaround.",
    "On {o}.x, calling `session.flush()` before `bulk_insert` avoids the bug.",
    "If you're on {o}.x, calling `session.flush()` before `bulk_insert` gets around it.",
]


@pytest.mark.parametrize("body", GERUNDS)
def test_a_workaround_said_as_a_gerund(body):
    claims = on_acme(body)
    workarounds = of_kind(claims, "workaround")
    assert [(w.range, w.action) for w in workarounds] == [
        (">=1.0,<2.0", "call `session.flush()` before `bulk_insert`")
    ], summary(claims)
    assert workarounds[0].speaker == "maintainer"
    assert_upgrades_kept(claims)


@pytest.mark.parametrize("body", GERUNDS)
def test_a_workaround_said_as_a_gerund_on_a_made_up_thread(body):
    claims = on_pebble(body)
    assert [(w.range, w.action) for w in of_kind(claims, "workaround")] == [
        (">=7.0,<8.0", "call `store.sync()` before `put_many`")
    ], summary(claims)


@pytest.mark.parametrize(
    "body",
    [
        "On 1.x, calling `session.flush()` before `bulk_insert` still fails.",
        "Is calling `session.flush()` before `bulk_insert` a workaround on 1.x?",
        "Calling `session.flush()` before `bulk_insert` did not work around it for me.",
    ],
)
def test_a_gerund_that_failed_or_is_asked_about_is_no_workaround(body):
    assert not of_kind(acme_with(body), "workaround")
