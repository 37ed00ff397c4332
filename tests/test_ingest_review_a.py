"""Defects a review of the wider reading found (each test failed on the code before its fix):
a crash on an avoided API, users read as maintainers, prose workarounds merged as installs, and
releases pulled by mistake read from a list in any separator."""

from __future__ import annotations

import pytest

from experimentos.lifecycle.ingest.said import Advice, Found
from experimentos.lifecycle.ingest.scope import _published_by_mistake
from experimentos.lifecycle.ingest.speakers import identify_speakers
from experimentos.lifecycle.ingest.thread import parse_payload

from .test_ingest_reading import acme_payload, plan


@pytest.mark.parametrize(
    "body",
    [
        "Don't use `bulk_insert`.",
        "We advise against using `bulk_insert`.",
        "Using `bulk_insert` is not recommended.",
        "I wouldn't use `bulk_insert` for now.",
        "Please avoid calling `session.bulk_insert()` until 2.1.0.",
    ],
)
def test_an_api_to_avoid_is_read_not_a_crash(body):
    payload = acme_payload()
    payload["comments"][3] |= {"body": body, "author_association": "MEMBER"}
    result, _ = plan(payload)
    avoided = [c for c in result.claims if c.kind == "avoid"]
    assert avoided and "bulk_insert" in avoided[0].subject


@pytest.mark.parametrize(
    "body",
    [
        "The fix shipped in 2.1.0 doesn't work for me.",
        "Released 2.1.0 still has this bug.",
        "2.1.0 is now on PyPI but it still fails.",
        "Shipped 2.1.0 to production and it crashed.",
        "Published 2.1.0 of my own fork with a patch.",
        "Tagged 2.1.0 in our internal registry.",
        "Merged the fix locally and it works.",
        "Closing: fixed in 2.1.0 for me.",
    ],
)
def test_a_user_reporting_on_a_release_does_not_speak_for_the_project(body):
    payload = acme_payload()
    payload["comments"] = [{**payload["comments"][0], "user": {"login": "x"}, "body": body}]
    issue = identify_speakers(parse_payload(payload))
    assert issue.comments[1].maintainer is False


def test_a_user_reporting_on_the_release_contradicts_no_one():
    payload = acme_payload()
    payload["comments"][1]["body"] = "Upgrading to acme-orm 2.1.0 fixed it for me."
    payload["comments"][2]["body"] = (
        "The fix shipped in 2.1.0 doesn't work for me. "
        "Don't upgrade to 2.1.0, it corrupts sessions."
    )
    result, _ = plan(payload)
    upgrade = next(c for c in result.claims if c.kind == "upgrade" and c.target == "2.1.0")
    assert not upgrade.corrections


@pytest.mark.parametrize(
    "first,second",
    [
        ("install the package from source", "install the wheel by hand"),
        ("install acme-orm-extras", "install the extras from git"),
        ("install the extras from source", "install the package from source"),
    ],
)
def test_workarounds_said_in_prose_are_not_one_install(first, second):
    found = Found()
    found[first] = Advice("workaround", first, first)
    assert found.repeated("workaround", second, None) is None


def test_an_install_of_the_same_package_is_the_same_claim():
    found = Found()
    found["a"] = Advice("workaround", "a", "install acme-orm-compat or acme_orm_compat")
    assert found.repeated("workaround", "install acme_orm_compat", None) == "a"


def test_an_install_repeated_as_a_command_is_still_one_claim():
    payload = acme_payload()
    payload["comments"][1]["body"] = "Projects can depend on `acme-orm-compat` directly."
    payload["comments"][2]["body"] = "`pip install acme-orm-compat` is a better workaround for now."
    result, _ = plan(payload)
    installs = [c for c in result.claims if c.kind == "workaround" and "compat" in c.action]
    assert len(installs) == 1 and installs[0].said_by == ["lee-w", "pat-o"]


def _opened_by_maintainer(body: str):
    payload = acme_payload()
    payload["issue"] |= {"body": body, "author_association": "MEMBER"}
    payload["comments"] = []
    return identify_speakers(parse_payload(payload))


@pytest.mark.parametrize(
    "body,pulled",
    [
        ("Versions 0.2.4 and 0.2.5 were accidentally published.", ["0.2.4", "0.2.5"]),
        ("1.4.1, 1.4.2 and 1.4.3 went out by mistake.", ["1.4.1", "1.4.2", "1.4.3"]),
        ("`0.2.4` & `0.2.5` were published by mistake.", ["0.2.4", "0.2.5"]),
        ("Versions 0.2.4, and 0.2.5 were unintentionally released.", ["0.2.4", "0.2.5"]),
        ("Release 3.0.1 was published unintentionally.", ["3.0.1"]),
        ("Versions tested:\n2.0.0\n2.0.1\n2.0.2\nAll fail the same way.", []),
    ],
)
def test_releases_pulled_by_mistake_are_read_from_their_list(body, pulled):
    assert _published_by_mistake(_opened_by_maintainer(body)) == pulled


@pytest.mark.parametrize(
    "reply",
    [
        "> Just pin acme-orm==1.9.0 and it works.\n\n"
        "Please don't use that solution, upgrade to 2.1.0.",
        "> Downgrading to acme-orm 1.9.0 solves it.\n\nThis workaround doesn't work for me.",
    ],
)
def test_a_quote_the_reply_turns_down_is_not_its_advice(reply):
    payload = acme_payload()
    payload["comments"][3] |= {"body": reply, "author_association": "MEMBER"}
    result, _ = plan(payload)
    assert not [c for c in result.claims if c.target and c.target.startswith("1.9")]


@pytest.mark.parametrize("size", ["1.5B", "1.5b", "0.5B"])
def test_a_model_size_is_not_a_pre_release_of_the_library(size):
    from experimentos.lifecycle.ingest.scope import thread_scope

    payload = acme_payload()
    payload["issue"]["body"] = f"After upgrading to acme-orm 2.0.3 the {size} model fails."
    payload["comments"] = payload["comments"][1:3]
    scope = thread_scope(parse_payload(payload))
    assert scope.range is not None and scope.range.startswith(">=2.0.3")
