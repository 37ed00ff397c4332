"""Issue 24, fifth round of generalisation: classes of reading failure heldout9's one blind run
showed (recall and precision), each written here as made-up threads in several phrasings (no
thread of the corpus, no library name from it). heldout9's own figures stay those of its first
run; these classes are measured on unseen threads by the next held-out set."""

from __future__ import annotations

import pytest

from .test_ingest_unseen3 import found, thread, versions

BROKEN = "Since acme-orm 3.0.0 the pool never connects:\n\n```\nError: pool closed\n```"


# --- a version that says where the problem was, not what to move to -------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "After some digging, simply disabling the `strictPool` check fixes the issue on "
        "acme-orm@3.",
        "Setting `pool: false` solves the problem on acme-orm 3.0.0 for me.",
        "Turning the cache off fixed it for me with acme-orm 3.0.0.",
        "it seems removing the `retry` option resolves the error in acme-orm v3.0.0",
    ],
)
def test_the_version_a_fix_works_on_is_where_not_a_target(reply):
    claims = thread(("reporter", None, BROKEN), ("u", None, reply))
    assert not versions(claims), found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "The pool hangs on acme-orm@3.0.0, though I already set `keepAlive: true` and it works "
        "well with acme-orm@2.",
        "It hangs for me on acme-orm 3.0.0 where another machine right next to me is running "
        "acme-orm v2.4 and it works for them.",
        "i am on acme-orm 3.0.0 and it hangs. my colleague runs acme-orm 2.4.1 and it works "
        "fine for him.",
    ],
)
def test_the_opening_posts_working_version_dates_the_regression(body):
    claims = thread(("reporter", None, body), ("u", None, "Same here."))
    assert not versions(claims), found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "The pool hangs on acme-orm 3.0.0. If I downgrade to acme-orm 2.4.1 it connects fine.",
        "The pool hangs on acme-orm 3.0.0. i went back to acme-orm 2.4.1 and it works fine.",
    ],
)
def test_an_act_the_opening_post_says_worked_stays_advice(body):
    claims = thread(("reporter", None, body), ("u", None, "Same here."))
    assert ("downgrade", "acme-orm", "2.4.1") in found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "The pool hangs on acme-orm 3.0.0, though I already set `keepAlive: true` and it works "
        "with acme-orm 2.",
        "it hangs for me where another pc is running node v12 and acme-orm 2.4.1 and it works "
        "for them.",
    ],
)
def test_the_opening_posts_setup_is_no_workaround_nor_version(body):
    claims = thread(("reporter", None, body), ("u", None, "Same here."))
    assert not claims, found(claims)
