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


# --- API swaps said in prose: renamed, merged, replaced with a path between --------------------


def uses(claims) -> set[tuple[str, str | None]]:
    return {
        (c.subject.removesuffix("()"), (c.target or "").removesuffix("()") or None)
        for c in claims
        if c.kind == "use"
    }


NO_MODULE = "ModuleNotFoundError: No module named 'acme_orm.pool.legacy_pool'"


@pytest.mark.parametrize(
    "body",
    [
        'In acme-orm 3.1 the name of the module "acme_orm.pool.legacy_pool" has been modified to '
        '"acme_orm.pool._legacy_pool", which breaks the import. Editing the name fixes it.',
        "In acme-orm 3.1 `acme_orm.pool.legacy_pool` was changed to `acme_orm.pool._legacy_pool`, "
        "so renaming the import solves this issue.",
        "In acme-orm 3.1 the module `acme_orm.pool.legacy_pool` got renamed into "
        "`acme_orm.pool._legacy_pool`.",
    ],
)
def test_a_module_renamed_in_words_is_a_swap(body):
    claims = thread(("reporter", None, f"{NO_MODULE}\n\n{body}"), ("u", None, "Same here."))
    assert ("acme_orm.pool._legacy_pool", "acme_orm.pool.legacy_pool") in uses(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Replacing the import line `acme_orm.pool.legacy_pool` in this file, with "
        "`acme_orm.pool.modern_pool` should solve the problem.",
        "Replace the import of `acme_orm.pool.legacy_pool` in utils/db.py with "
        "`acme_orm.pool.modern_pool`.",
        "I fixed it by replacing the line `acme_orm.pool.legacy_pool` in my code, with "
        "`acme_orm.pool.modern_pool`.",
    ],
)
def test_a_replacement_with_words_between_its_two_names(reply):
    claims = thread(("reporter", None, NO_MODULE), ("u", None, reply))
    assert ("acme_orm.pool.modern_pool", "acme_orm.pool.legacy_pool") in uses(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "`Listener` has been merged into `Client`, so you can simply subclass `Client` instead.",
        "`Listener` is gone in 4.0; extend `Client` instead.",
        "Listener was folded into Client in the 4.0 branch, so inherit from `Client` instead.",
    ],
)
def test_subclass_or_extend_the_new_class_instead(reply):
    opening = "AttributeError: module 'acme_orm' has no attribute 'Listener'"
    claims = thread(("reporter", None, opening), ("acme", "OWNER", reply))
    assert ("Client", "Listener") in uses(claims)


@pytest.mark.parametrize(
    "reply",
    [
        'it was replaced by "insert_one" or "insert_many", the same occurs with remove',
        "This happens if you upgrade acme-orm, `insert` was replaced by `insert_one`.",
    ],
)
def test_replaced_by_one_of_two_names(reply):
    opening = (
        "After updating acme-orm to 4.1.2 this fails:\n\n    coll.insert(doc)\n\n"
        "TypeError: 'Collection' object is not callable. If you meant to call the 'insert' "
        "method on a 'Collection' object it is failing because no such method exists."
    )
    claims = thread(("reporter", None, opening), ("u", None, reply))
    assert ("insert_one", "insert") in uses(claims), found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "You can use `await import()` to import it from CommonJS: https://x.org/esm",
        "You can call `createPool()` to get the same pool.",
        "Just use `Pool.open()` to create the pool now.",
    ],
)
def test_use_a_call_to_do_something_is_an_api_swap(reply):
    claims = thread(("reporter", None, ESM_TITLE_BODY), ("acme", "OWNER", reply))
    got = {c.subject.removesuffix("()") for c in claims if c.kind == "use"}
    assert got & {"await import", "createPool", "Pool.open"}, found(claims)
    assert not [c for c in claims if c.kind == "workaround"]


ESM_TITLE_BODY = (
    "I can't require acme-orm >= 3 in a CommonJS project:\n\n"
    "```\nError [ERR_REQUIRE_ESM]: require() of ES Module acme-orm/index.js not supported.\n```"
)


# --- an upgrade said in words: a more recent version, "X and later", "had to update" -------------

OLD_POOL = (
    "Importing acme-orm fails under version 3.0.1 of the library:\n\n```\nAttributeError: x\n```"
)


@pytest.mark.parametrize(
    "reply",
    [
        "You'll need to use a more recent acme-orm version, or pin to an older pool-lib version.",
        "Please try a newer version of acme-orm.",
        "You should install a more recent release of acme-orm.",
    ],
)
def test_a_more_recent_version_is_an_upgrade_to_the_latest(reply):
    claims = thread(("reporter", None, OLD_POOL), ("acme", "OWNER", reply))
    assert ("upgrade", "acme-orm", "latest") in found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Users of acme-orm versions older than 3.2 will need to upgrade.",
        "Everyone on acme-orm older than 3.2 needs to upgrade.",
        "Did you read the changelog?\n\n> Removed legacy symbols. Users of acme-orm versions older "
        "than 3.2 will need to upgrade.",
    ],
)
def test_users_of_versions_older_than_x_need_to_upgrade(reply):
    claims = thread(("reporter", None, OLD_POOL), ("acme", "OWNER", reply))
    assert ("upgrade", "acme-orm", "3.2") in found(claims)
    claim = next(c for c in claims if c.kind == "upgrade")
    assert claim.range == "<3.2" and claim.speaker == "maintainer"


@pytest.mark.parametrize(
    "reply",
    [
        "Which version are you using? Version 3.2.0 and later should work well with Node 14.",
        "acme-orm 3.2.0 and later work fine with Node 14.",
        "Versions 3.2.0 and above should work on Node 14.",
    ],
)
def test_a_version_and_later_said_to_work_is_an_upgrade(reply):
    opening = "The pool hangs on Node 14.1.0."
    claims = thread(("reporter", None, opening), ("acme", "OWNER", reply))
    assert ("upgrade", "acme-orm", "3.2.0") in found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "I ran `npm update` and the build broke. I had to manually update acme-orm and then all "
        "was well.",
        "The build broke after `npm update`. I had to update acme-orm by hand, then everything "
        "worked.",
    ],
)
def test_i_had_to_update_x_and_then_all_was_well(body):
    claims = thread(("reporter", None, body), ("u", None, "Thanks."))
    assert ("upgrade", "acme-orm", "latest") in found(claims)


def test_a_quote_from_nowhere_the_reply_names_is_not_its_advice():
    reply = "> Users of acme-orm versions older than 3.2 will need to upgrade.\n\nNot in my case."
    claims = thread(("reporter", None, OLD_POOL), ("u", None, reply))
    assert not versions(claims)


# --- settings said as environment variables and named options ------------------------------------

BANNER = "Every time the server starts acme-orm 2.4.0 prints a deprecation banner."


def flags(claims) -> set[str]:
    return {c.subject.lstrip("-").split("=")[0].lower() for c in claims if c.kind == "flag"}


@pytest.mark.parametrize(
    "reply",
    [
        "You can suppress this message by setting this env variable before running your app: "
        "`ACME_SILENCE_BANNER=1 node app.js`",
        "Set the environment variable `ACME_SILENCE_BANNER=true` to silence it.",
        "Running with `ACME_SILENCE_BANNER=1` in the environment silences the banner for me.",
    ],
)
def test_an_environment_variable_set_as_the_fix_is_a_setting(reply):
    claims = thread(("reporter", None, BANNER), ("acme", "OWNER", reply))
    assert "acme_silence_banner" in flags(claims), found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Please read the readme:\n\n> On version 10 or later, you need to enable the keepAlive "
        "option to be able to use it directly.",
        "You have to turn on the `keepAlive` setting for this to work.",
        "Enable the keepAlive option and it works.",
    ],
)
def test_enable_the_named_option_is_a_setting(reply):
    claims = thread(("reporter", None, BANNER), ("acme", "OWNER", reply))
    assert "keepalive" in flags(claims), found(claims)


def test_a_variable_in_a_log_or_a_question_is_no_setting():
    reply = "Did you try `ACME_SILENCE_BANNER=1 node app.js`?"
    claims = thread(("reporter", None, BANNER), ("u", None, reply))
    assert not flags(claims)


def test_a_variable_asked_for_to_see_more_is_no_setting():
    reply = 'Thanks, we are looking into it. A log with `DEBUG="acme:*"` would help.'
    claims = thread(("reporter", None, BANNER), ("acme", "MEMBER", reply))
    assert not flags(claims)


def test_an_environment_variable_is_not_the_threads_library():
    opening = "Every time the server starts I get a banner. SDK version used: 2.1383.0"
    reply = (
        "This is intentional. You can suppress this message by setting this env variable: "
        "`ACME_SILENCE_BANNER=1 node app.js`"
    )
    claims = thread(("reporter", None, opening), ("acme", None, reply), repo="acme/acme-sdk-js")
    assert "acme_silence_banner" in flags(claims), found(claims)
    assert all(c.library != "acme_silence_banner" for c in claims)
