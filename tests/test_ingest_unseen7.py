"""Issue 24, seventh round of generalisation: FAMILIES of reading failure heldout11's one blind run
showed, each written as rules that follow from structure the thread already gives (the versions
it reports, the repository it is filed in, a bound's words, the command a reply offers), tested
here on made-up threads in phrasings deliberately unlike the corpus's (no thread of the corpus,
no library or project name from it), with negatives that look alike but are no advice.
heldout11's own figures stay those of its first run; whether the families transfer is measured
by the next held-out set."""

from __future__ import annotations

import pytest

from .test_ingest_unseen3 import found, thread


def moves(claims) -> set[tuple[str, str, str | None]]:
    """(kind, package, target) of the claims that move a package to a version."""
    return {
        (c.kind, c.subject.lower(), c.target)
        for c in claims
        if c.kind in ("upgrade", "downgrade", "pin")
    }


# --- family: the direction of "to N" comes from the versions the thread reports -----------------
# Whatever the verb ("upgrade", "use", "go to", "install"), a version below the one the thread
# reports broken is going back, one above it going forward; a major alone counts as its line.

KESTREL_BROKEN = (
    "After `npm i kestrel-forms@4.2.0` every submit throws:\n\n"
    "```\nTypeError: form.bind is not a function\n```"
)


@pytest.mark.parametrize(
    "title,reply",
    [
        ("kestrel-forms@4.2.0 release is broken", "Until I sort it out, use v4.1.9 instead."),
        ("Submitting throws on 4.2.0", "Sorry about that: upgrade kestrel-forms to 4.1.9 for now."),
        ("Submitting throws on 4.2.0", "Go to version 4.1.9 of kestrel-forms meanwhile."),
        ("Submitting throws on 4.2.0", "You may install kestrel-forms@4.1.9 till a patch lands."),
        ("Submitting throws on 4.2.0", "Please move to kestrel-forms version 3 while I look."),
    ],
)
def test_a_version_below_the_broken_one_is_going_back(title, reply):
    claims = thread(
        ("reporter", None, KESTREL_BROKEN),
        ("kes", "OWNER", reply),
        title=title,
        repo="kes/kestrel-forms",
    )
    kinds = {(pkg, target): kind for kind, pkg, target in moves(claims)}
    assert kinds, found(claims)
    assert set(kinds.values()) == {"downgrade"}, found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Downgrade is not the answer here: bump kestrel-forms to 4.2.3, it has the fix.",
        "Use kestrel-forms version 5, where submit was rewritten.",
    ],
)
def test_a_version_above_the_broken_one_is_going_forward(reply):
    claims = thread(
        ("reporter", None, KESTREL_BROKEN),
        ("kes", "OWNER", reply),
        title="Submitting throws on 4.2.0",
        repo="kes/kestrel-forms",
    )
    assert {k for k, _, _ in moves(claims)} == {"upgrade"}, found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "If you need CommonJS, you can also use version 3.",
        "If you still load it with require(), stay on release 3.",
        "For CJS builds: install release 3 of it.",
    ],
)
def test_a_version_offered_for_the_old_module_system_is_going_back(reply):
    body = (
        "Build passes but at runtime:\n\n```\nError [ERR_REQUIRE_ESM]: require() of ES Module "
        "/srv/app/node_modules/wren-spinner/index.js not supported.\n```"
    )
    claims = thread(("reporter", None, body), ("wren", "OWNER", reply), repo="wren/wren-spinner")
    got = moves(claims)
    assert got and {k for k, _, _ in got} <= {"downgrade", "pin"}, found(claims)
    assert {t for _, _, t in got} == {"3"}, found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Should I use v4.1.9 until then?",  # a question
        "I use version 4.2.0 and it throws too.",  # the version reported
        "Please publish 4.2.1 with a fix.",  # a request to the maintainers
        "```\nnpm WARN deprecated kestrel-forms@4.1.9: use 4.2.0\n```",  # a log's words
    ],
)
def test_versions_near_the_broken_one_that_are_no_advice(reply):
    claims = thread(
        ("reporter", None, KESTREL_BROKEN),
        ("u", None, reply),
        title="Submitting throws on 4.2.0",
        repo="kes/kestrel-forms",
    )
    assert not moves(claims), found(claims)


@pytest.mark.parametrize(
    "title",
    [
        "wren-spinner@2.1.0 package broken",
        "wren-spinner@2.1.0 tarball has no dist folder",
        "wren-spinner@2.1.0 ships without its build",
    ],
)
def test_a_title_naming_the_package_at_its_version_reports_it(title):
    claims = thread(
        ("reporter", None, "After installing, the module cannot be loaded: dist/ is missing."),
        ("wren", "OWNER", "Not sure what happened. In the meantime you can use v2.0.4."),
        title=title,
        repo="wren/wren-spinner",
    )
    assert ("downgrade", "wren-spinner", "2.0.4") in moves(claims), found(claims)


# --- family: bounds said in words are targets -------------------------------------------------
# "versions smaller than 3.0", "lower than", "older than", "below", "at least 2.5", "2.5 or newer":
# a bound, written as the operator it means.

QUILL_BROKEN = "Since quillpy 2.4.0 the codec is gone:\n\n```\nAttributeError: no codec 'x'\n```"


@pytest.mark.parametrize(
    "reply,target",
    [
        ("Our fix for now is to hold quillpy to versions lower than 2.4.0.", "<2.4.0"),
        ("Cap quillpy below 2.4 in your constraints until the codec is back.", "<2.4"),
        ("You should keep quillpy to releases older than 2.4.0, those still have it.", "<2.4.0"),
        ("Pin quillpy to a version smaller than 2.4.0 and it imports.", "<2.4.0"),
        ("Restrict quillpy to anything under 2.4.0.", "<2.4.0"),
    ],
)
def test_an_upper_bound_in_words_is_a_pin(reply, target):
    claims = thread(("reporter", None, QUILL_BROKEN), ("u", None, reply), repo="q/quillpy")
    assert ("pin", "quillpy", target) in moves(claims), found(claims)
    assert not [c for c in claims if c.kind == "workaround"], found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Install quillpy at least 2.5.1, the codec came back there.",
        "Use quillpy 2.5.1 or newer.",
        "Upgrade quillpy to 2.5.1 or later and it is fine.",
    ],
)
def test_a_lower_bound_in_words_is_an_upgrade_to_it(reply):
    # (the corpus's convention: an upgrade's target is the bound's version)
    claims = thread(("reporter", None, QUILL_BROKEN), ("u", None, reply), repo="q/quillpy")
    assert ("upgrade", "quillpy", "2.5.1") in moves(claims), found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Does it work with versions lower than 2.4.0?",
        "I tried versions lower than 2.4.0 and it still fails.",
        "```\nERROR: app 1.0 requires quillpy at least 2.5.1\n```",
    ],
)
def test_bounds_in_words_that_are_no_advice(reply):
    claims = thread(("reporter", None, QUILL_BROKEN), ("u", None, reply), repo="q/quillpy")
    assert not moves(claims), found(claims)


def test_the_opening_posts_request_for_a_bound_is_no_advice():
    body = QUILL_BROKEN + "\n\nPlease restrict quillpy to versions lower than 2.4.0 in setup.py."
    claims = thread(("reporter", None, body), ("u", None, "Same here."), repo="q/quillpy")
    assert not moves(claims), found(claims)


# --- family: the repository's name and the package it publishes ---------------------------------
# A repository named as its package plus an ecosystem affix (".js", "-js", "js-", ".py") publishes
# the package without it; a repository named in prose ("…-for-…", "…-with-…") is a course or an
# app, never a package to move.


@pytest.mark.parametrize(
    "repo", ["ferrous/pebblekit.js", "ferrous/pebblekit-js", "ferrous/js-pebblekit"]
)
def test_a_repository_named_with_an_affix_publishes_the_bare_package(repo):
    body = (
        "Releases 1.4.1 and 1.4.2 went out by mistake with the new wire format. They are pulled "
        "now. If you have one of them, please roll back to 1.4.0."
    )
    claims = thread(("ferrous", "OWNER", body), title="Pulled two releases", repo=repo)
    assert ("downgrade", "pebblekit", "1.4.0") in moves(claims), found(claims)
    # the releases that went out by mistake are the line, and no others
    claim = next(c for c in claims if c.target == "1.4.0")
    assert (claim.library, (claim.range or "").replace(",", " ")) == (
        "pebblekit",
        ">=1.4.1 <=1.4.2",
    )


def test_a_repository_whose_full_name_is_the_package_keeps_it():
    body = "Since `npm i pebblekit.js@1.4.1` the wire format is wrong."
    reply = "Please roll back to 1.4.0 while I look."
    claims = thread(("r", None, body), ("ferrous", "OWNER", reply), repo="ferrous/pebblekit.js")
    assert ("downgrade", "pebblekit.js", "1.4.0") in moves(claims), found(claims)


@pytest.mark.parametrize(
    "repo,reply",
    [
        (
            "teach/graphql-with-node-workshop",
            "Thanks! I just updated the samples to the newest version.",
        ),
        (
            "teach/python-for-data-people",
            "Good catch, I have upgraded the notebooks to the latest release.",
        ),
        ("teach/learn-the-web-in-ten-days", "Updated the code here to use the newer version :)"),
    ],
)
def test_a_repository_named_in_prose_is_never_a_package(repo, reply):
    body = (
        "Running lesson 5 prints a warning:\n\n```\n/home/me/"
        + repo.split("/")[1]
        + "/lesson5/app.py: DeprecationWarning: fetch() is deprecated\n```"
    )
    claims = thread(
        ("learner", None, body), ("teach", "OWNER", reply), title="Deprecated call", repo=repo
    )
    name = repo.split("/")[1]
    assert not [c for c in claims if c.subject.lower() == name], found(claims)


# --- family: a command or a dependency offered as the workaround --------------------------------
# "`npm i x` is a better workaround", "the fix that worked: `pip install x`", "you can depend on
# `x` directly": install advice, one claim per package, however often it is repeated.

SPLIT = (
    "Since tarn-parse 7.0.0 importing fails:\n\n```\nImportError: tarn_parse.html_strip is now a "
    "separate project tarn_html_strip\n```"
)


@pytest.mark.parametrize(
    "reply",
    [
        "`pip install tarn_html_strip` is the simplest workaround right now, though the import "
        "should move eventually.",
        "A cleaner fix than pinning: `python -m pip install tarn_html_strip`.",
        "Workaround that does it for us: `uv pip install tarn_html_strip`",
    ],
)
def test_an_install_command_offered_as_the_workaround_is_install_advice(reply):
    claims = thread(("reporter", None, SPLIT), ("u", None, reply), repo="t/tarn-parse")
    work = [c for c in claims if c.kind == "workaround"]
    assert [c.subject for c in work] == ["install tarn_html_strip"], found(claims)


def test_a_dependency_offered_then_repeated_as_a_command_is_one_claim():
    first = (
        "The notes of 7.0.0 say so:\n\n> The stripper now lives in its own distribution. "
        "Projects can depend on `tarn_html_strip` directly."
    )
    again = "`pip install tarn_html_strip` is what I did and it works."
    claims = thread(
        ("reporter", None, SPLIT), ("a", None, first), ("b", None, again), repo="t/tarn-parse"
    )
    work = [c for c in claims if c.kind == "workaround"]
    assert len(work) == 1 and work[0].first_comment == 1, found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Is `pip install tarn_html_strip` a safe workaround?",  # a question
        "I tried `pip install tarn_html_strip` as a workaround and it still fails.",  # a failure
    ],
)
def test_install_commands_that_are_no_workaround(reply):
    claims = thread(("reporter", None, SPLIT), ("u", None, reply), repo="t/tarn-parse")
    assert not [c for c in claims if c.kind == "workaround"], found(claims)
