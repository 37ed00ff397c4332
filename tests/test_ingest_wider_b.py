"""Issue 24, the acme-orm thread read "wider": the maintainer's word for the old release line in
other wordings (a workaround after a semicolon or under a label that names the line, an
avoidance said as "is not recommended" or "we advise against", "call X instead" with nothing
replaced), `--pre` offered by "by passing …" or "Try `--pre`", and the avoidance's action text
whatever the wording of its line. Each class on variants of the issue's own thread and on a
made-up thread, with look-alike negatives."""

from __future__ import annotations

import datetime as dt

import pytest

from experimentos.lifecycle.ingest import plan_ingest
from experimentos.lifecycle.ingest.thread import parse_payload

from .test_ingest_reading import acme_payload

TODAY = dt.date(2026, 1, 5)


def acme_with(maintainer: str, *, member: bool = False, **bodies: str):
    """The acme thread with the maintainer's comment (and any other, by index) reworded."""
    payload = acme_payload()
    payload["comments"][3]["body"] = maintainer
    if member:
        payload["comments"][3]["author_association"] = "MEMBER"
    for index, body in bodies.items():
        payload["comments"][int(index.lstrip("c"))]["body"] = body
    result, _ = plan_ingest(parse_payload(payload, "acme.json"), today=TODAY)
    return result.claims


def pebble(reply: str, first: str = "Same on 8.1.9.") -> list:
    """A made-up thread: pebble-store 8.1.x loses rows, a user's reply, then the owner's."""
    url = "https://github.com/pebble/pebble-store/issues/77"
    issue = {
        "html_url": url,
        "number": 77,
        "title": "`put_many` loses rows that have a default",
        "state": "open",
        "user": {"login": "ana"},
        "created_at": "2025-06-01T00:00:00Z",
        "body": "On pebble-store 8.1.8, `store.put_many(rows)` loses every row with a default "
        "value. Python 3.12.",
    }
    rows = [
        {"html_url": url, "user": {"login": "bo"}, "created_at": "2025-06-02", "body": first},
        {
            "html_url": url,
            "user": {"login": "pebble"},
            "author_association": "OWNER",
            "created_at": "2025-06-03",
            "body": reply,
        },
    ]
    result, _ = plan_ingest(parse_payload({"issue": issue, "comments": rows}, "made-up"))
    return result.claims


def of_kind(claims, kind: str) -> list:
    return [c for c in claims if c.kind == kind]


def summary(claims) -> list:
    return [(c.kind, c.subject, c.target, c.range, c.speaker) for c in claims]


# --- 1. the workaround for the old line: after a semicolon, under a label naming the line --------

OLD_LINE_WORKAROUNDS = [
    "2.1.0 is out with the fix, please upgrade.\n\nIf you're on {o}.x, please don't upgrade to "
    "{n}.x for this; on {o}.x call `session.flush()` before `bulk_insert` as a workaround.",
    "Fixed in 2.1.0.\n\n{o}.x users: do not upgrade to {n}.x just for this fix (the session API "
    "changed). Workaround on {o}.x: call `session.flush()` before `bulk_insert`.",
    "Workaround for {o}.x: call `session.flush()` before `bulk_insert`.",
    "Please don't upgrade a {o}.x project to {n}.x; for {o}.x users call `session.flush()` "
    "before `bulk_insert` as a workaround.",
    "Workaround on the {o}.x line: call `session.flush()` before `bulk_insert`.",
    "Thanks for the report. On {o}.x you can call `session.flush()` before `bulk_insert` as a "
    "workaround.",
]


@pytest.mark.parametrize("body", OLD_LINE_WORKAROUNDS)
def test_the_old_lines_workaround_is_read_and_scoped_to_its_line(body):
    claims = acme_with(body.format(o=1, n=2), member=True)
    workarounds = of_kind(claims, "workaround")
    assert len(workarounds) == 1, summary(claims)
    assert workarounds[0].range == ">=1.0,<2.0", summary(claims)
    assert workarounds[0].speaker == "maintainer"
    assert workarounds[0].action.startswith("call `session.flush()` before `bulk_insert`")


@pytest.mark.parametrize("body", OLD_LINE_WORKAROUNDS)
def test_the_old_lines_workaround_on_a_made_up_thread(body):
    text = body.format(o=7, n=8).replace("session.flush()", "store.sync()")
    claims = pebble(text.replace("bulk_insert", "put_many").replace("2.1.0", "8.2.0"))
    workarounds = of_kind(claims, "workaround")
    assert [w.range for w in workarounds] == [">=7.0,<8.0"], summary(claims)
    assert "store.sync()" in workarounds[0].action


def test_a_label_naming_the_2_0_line_scopes_to_it():
    claims = acme_with("Workaround on the 2.0.x line: call `session.flush()` first.", member=True)
    assert [w.range for w in of_kind(claims, "workaround")] == [">=2.0,<2.1"]


@pytest.mark.parametrize(
    "body",
    [
        # no line named: the thread's range
        "Workaround: call `session.flush()` before `bulk_insert`.",
        "As a workaround, call `session.flush()` before `bulk_insert`.",
    ],
)
def test_a_workaround_naming_no_line_keeps_the_threads_range(body):
    claims = acme_with(body, member=True)
    assert [w.range for w in of_kind(claims, "workaround")] == [">=2.0.3,<2.1.0"]


@pytest.mark.parametrize(
    "body",
    [
        "I'm on 1.x; calling `session.flush()` before `bulk_insert` did not help.",
        "On 1.x, calling `session.flush()` before `bulk_insert` still fails.",
    ],
)
def test_a_failed_try_on_the_old_line_is_no_workaround(body):
    assert not of_kind(acme_with(body), "workaround")


# --- 2. "upgrading to 2.x is not recommended"; "call X instead" with nothing replaced -----------

AVOIDS = [
    "For projects on {o}.x, upgrading to {n}.x is not recommended; call `session.flush()` before "
    "`bulk_insert` instead.",
    "On {o}.x we advise against upgrading to {n}.x; call `session.flush()` before `bulk_insert` "
    "instead.",
    "If you're on {o}.x, better not upgrade to {n}.x for this; call `session.flush()` before "
    "`bulk_insert` instead.",
    "{o}.x users: moving to {n}.x is discouraged; call `session.flush()` before `bulk_insert` "
    "instead.",
    "For {o}.x projects we recommend against upgrading to {n}.x; call `session.flush()` before "
    "`bulk_insert` instead.",
]


@pytest.mark.parametrize("body", AVOIDS)
def test_an_avoid_said_as_not_recommended_and_a_call_instead(body):
    claims = acme_with("The fix shipped in 2.1.0.\n\n" + body.format(o=1, n=2), member=True)
    avoids = of_kind(claims, "avoid")
    assert [(a.target, a.range, a.speaker) for a in avoids] == [
        (">=2", ">=1.0,<2.0", "maintainer")
    ], summary(claims)
    assert avoids[0].action == "do not upgrade acme-orm to 2.x on a 1.x project"
    workarounds = of_kind(claims, "workaround")
    assert [w.range for w in workarounds] == [">=1.0,<2.0"], summary(claims)
    assert workarounds[0].action == "call `session.flush()` before `bulk_insert`"
    assert not of_kind(claims, "use"), summary(claims)
    # the 2.0.x upgrades are not contradicted by advice for another line
    upgrade = next(c for c in claims if c.kind == "upgrade" and c.target == "2.1.0")
    assert not [c for c in upgrade.corrections if c.kind == "contradicted"]


@pytest.mark.parametrize("body", AVOIDS)
def test_an_avoid_said_as_not_recommended_on_a_made_up_thread(body):
    text = body.format(o=7, n=8).replace("session.flush()", "store.sync()")
    claims = pebble(text.replace("bulk_insert", "put_many"))
    assert [(a.subject, a.target, a.range) for a in of_kind(claims, "avoid")] == [
        ("pebble-store", ">=8", ">=7.0,<8.0")
    ], summary(claims)
    assert [w.range for w in of_kind(claims, "workaround")] == [">=7.0,<8.0"], summary(claims)


@pytest.mark.parametrize(
    "body,kind,target",
    [
        # a replaced API named: a swap still
        ("Call `session.save_all()` instead of `bulk_insert()`.", "use", "bulk_insert()"),
        ("Use `session.save_all()` instead.", "use", None),
    ],
)
def test_a_call_that_replaces_an_api_is_still_a_swap(body, kind, target):
    claims = acme_with(body, member=True)
    assert [(c.subject, c.target) for c in of_kind(claims, kind)] == [
        ("session.save_all()", target)
    ], summary(claims)


@pytest.mark.parametrize(
    "body",
    [
        "Upgrading to 2.1.0 is recommended.",
        "Is upgrading to 2.x not recommended for 1.x projects?",
        "We recommend upgrading to 2.1.0.",
        "Nobody advised against upgrading to 2.1.0, it is fine.",
    ],
)
def test_what_is_no_avoidance(body):
    claims = acme_with(body, member=True)
    assert not of_kind(claims, "avoid"), summary(claims)


# --- 1-2. the line a clause, a label or the sentence before sets, wherever the advice sits ------

LINE_CARRIED = [
    "It's better not to upgrade a {o}.x project to {n}.x for this; for {o}.x, call "
    "`session.flush()` before `bulk_insert`.",
    "On {o}.x: don't upgrade to {n}.x. Workaround: call `session.flush()` before `bulk_insert`.",
    "Workaround for {o}.x users: call `session.flush()` before `bulk_insert`. Please don't upgrade "
    "them to {n}.x for this.",
    "Projects on {o}.x should not upgrade to {n}.x for this; on {o}.x, call `session.flush()` "
    "before `bulk_insert` as a workaround.",
    "For the {o}.x line, I wouldn't upgrade to {n}.x just for this. Call `session.flush()` before "
    "`bulk_insert` as a workaround on {o}.x.",
]


@pytest.mark.parametrize("body", LINE_CARRIED)
def test_the_line_set_before_the_advice_scopes_it(body):
    claims = acme_with(body.format(o=1, n=2), member=True)
    got = sorted((c.kind, c.range, c.action) for c in claims if c.kind in ("avoid", "workaround"))
    assert got == [
        ("avoid", ">=1.0,<2.0", "do not upgrade acme-orm to 2.x on a 1.x project"),
        ("workaround", ">=1.0,<2.0", got[1][2]),
    ], summary(claims)
    assert got[1][2].lower() == "call `session.flush()` before `bulk_insert`"
    made_up = pebble(body.format(o=7, n=8).replace("session.flush()", "store.sync()"))
    assert sorted((c.kind, c.range) for c in made_up if c.kind in ("avoid", "workaround")) == [
        ("avoid", ">=7.0,<8.0"),
        ("workaround", ">=7.0,<8.0"),
    ], summary(made_up)


def test_a_line_does_not_carry_over_to_a_version_move():
    claims = acme_with(
        "Workaround for 1.x users: call `session.flush()` before `bulk_insert`. "
        "Everyone else, upgrade to 2.1.0.",
        member=True,
    )
    upgrade = next(c for c in claims if c.kind == "upgrade" and c.target == "2.1.0")
    assert upgrade.range == ">=2.0.3,<2.1.0"


# --- 3. `--pre` given "by passing" it, or as "Try `--pre`" -------------------------------------

PRE = [
    "You can get 2.1.0rc2 with the fix by passing `--pre` to pip until 2.1.0 is out.",
    "Try `--pre`: 2.1.0rc2 fixes it.",
    "Try `--pre`, 2.1.0rc2 has the fix.",
    "You get the fix by adding `--pre` to pip.",
    "You can get 2.1.0rc2 by using the `--pre` flag with pip.",
    "Try adding `--pre`, 2.1.0rc2 fixes it.",
]


@pytest.mark.parametrize("body", PRE)
def test_the_pre_flag_given_by_passing_it_or_as_try(body):
    claims = acme_with(acme_payload()["comments"][3]["body"], c0=body)
    flags = of_kind(claims, "flag")
    assert [(f.subject, f.said_by, f.prerelease) for f in flags] == [("--pre", ["sam-r"], True)]
    # the thread's range (2.1 and 2.1.0 are one version: how the range is written is not read here)
    assert flags[0].range in (">=2.0.3,<2.1.0", ">=2.0.3,<2.1")


@pytest.mark.parametrize("body", PRE)
def test_the_pre_flag_on_a_made_up_thread(body):
    claims = pebble("Thanks, looking into it.", first=body.replace("2.1.0", "8.2.0"))
    assert [f.subject for f in of_kind(claims, "flag")] == ["--pre"], summary(claims)


def test_the_upgrade_to_the_release_candidate_is_kept():
    claims = acme_with(
        acme_payload()["comments"][3]["body"],
        c0="You can get 2.1.0rc2 with the fix by passing `--pre` to pip until 2.1.0 is out.",
    )
    assert [c.target for c in of_kind(claims, "upgrade") if c.said_by == ["sam-r"]] == ["2.1.0rc2"]


@pytest.mark.parametrize(
    "body",
    [
        "I tried `--pre` but 2.1.0rc2 still fails.",
        "Does passing `--pre` to pip get 2.1.0rc2?",
        "Passing `--pre` to pip did not help.",
    ],
)
def test_a_pre_flag_that_failed_or_is_asked_about_is_no_advice(body):
    claims = acme_with(acme_payload()["comments"][3]["body"], c0=body)
    assert not of_kind(claims, "flag"), summary(claims)


# --- 4. the avoidance's action text, whatever the wording of its line ---------------------------


@pytest.mark.parametrize(
    "body",
    [
        "If you're on 1.x, please don't upgrade to 2.x for this.",
        "1.x users: do not upgrade to 2.x just for this fix.",
        "For projects on 1.x, don't upgrade to 2.x.",
        "On 1.x, do not upgrade to 2.x.",
        "Don't upgrade a 1.x project to 2.x just for this.",
        "On the 1.x line don't upgrade to 2.x.",
        "For 1.x users: don't upgrade to 2.x.",
    ],
)
def test_the_avoid_action_reads_on_a_line_project(body):
    claims = acme_with(body, member=True)
    avoids = of_kind(claims, "avoid")
    assert [a.action for a in avoids] == ["do not upgrade acme-orm to 2.x on a 1.x project"], (
        summary(claims)
    )
    assert avoids[0].range == ">=1.0,<2.0"


def test_the_avoid_action_on_a_minor_line():
    claims = pebble("On the 8.1.x line, do not upgrade to 9.x for this.")
    assert [a.action for a in of_kind(claims, "avoid")] == [
        "do not upgrade pebble-store to 9.x on an 8.1.x project"
    ], summary(claims)
