"""Issue 24, sixth round of generalisation: FAMILIES of reading failure heldout10's one blind run
showed, each written here as made-up threads in several phrasings deliberately unlike the
corpus's wording (no thread of the corpus, no library or project name from it), with negatives
that look alike but are no advice. heldout10's own figures stay those of its first run; whether
the families transfer is measured by the next held-out set."""

from __future__ import annotations

import pytest

from .test_ingest_unseen3 import found, thread, versions

BROKEN = "Since zeta-cache 3.0.0 the pool never connects:\n\n```\nError: pool closed\n```"


def back(claims) -> set[tuple[str, str | None]]:
    """(package, target) of the claims that go back to or hold a version."""
    return {(c.subject.lower(), c.target) for c in claims if c.kind in ("downgrade", "pin")}


# --- family: an act on a package "to (version) N", whatever the verb ----------------------------
# "point the x library to version N", "switched x to N", "move x to release N", "degrade x to
# its previous version N", "bring x back to N": the verb says little, the construction says
# all (a package, a few filler words, "to", a version).


@pytest.mark.parametrize(
    "reply",
    [
        "For now, point the zeta-cache dependency to release 2.9.1 and it connects.",
        "Please move zeta-cache to version 2.9.1 until this is fixed.",
        "You can simply bring the zeta-cache package back to v2.9.1.",
        "degrade zeta-cache to its previous version 2.9.1",
        "I switched zeta-cache to 2.9.1 and the pool connects again.",
    ],
)
def test_an_act_on_a_package_to_a_version_under_any_verb(reply):
    claims = thread(("reporter", None, BROKEN), ("u", None, reply))
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)
    assert not [c for c in claims if c.kind == "upgrade"], found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "Since zeta-cache 3.0.0 the pool never connects.\n\n"
        "### Temporary Fix: Point Zeta-Cache Library to Release 2.9.1\n\n"
        "Until this is fixed, we need to temporarily point the zeta-cache library to version "
        "2.9.1.",
        "Since zeta-cache 3.0.0 the pool never connects. I switched zeta-cache to 2.9.1 and it "
        "runs normally.",
        "Since zeta-cache 3.0.0 the pool never connects. Moving the zeta-cache package to release "
        "2.9.1 made it work again.",
        # the fix as a heading, then how it is done: the version is the fix, not the report
        "Since zeta-cache 3.0.0 the pool never connects.\n\n## Way out: Hold Zeta-Cache at 2.9.1"
        "\n\nThat can be achieved by adding `zeta-cache==2.9.1` to your constraints file.",
    ],
)
def test_the_opening_posts_fix_to_a_version_under_any_verb(body):
    claims = thread(("reporter", None, body), ("u", None, "Same here."))
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)
    claim = next(c for c in claims if c.target == "2.9.1")
    assert claim.range and claim.range.startswith(">=3.0.0"), claim.range


def test_the_owners_note_degrades_to_a_quoted_entry():
    body = "degrade to its previous version \u201czeta-cache\u201d: \u201c^2.9.1\u201d"
    claims = thread(("owner", "OWNER", body), title="TypeError: pool.open is not a function")
    assert ("zeta-cache", "^2.9.1") in back(claims), found(claims)


@pytest.mark.parametrize(
    "reply",
    ["once I moved back to nodejs 12 it worked fine.", "Setting Node.js back to 12 fixed it."],
)
def test_a_runtime_moved_back_to_has_one_name(reply):
    claims = thread(
        ("reporter", None, f"On node 14 with zeta-cache 3.0.0: {BROKEN}"), ("u", None, reply)
    )
    assert ("node", "12") in back(claims), found(claims)


@pytest.mark.parametrize(
    "body,reply",
    [
        # a question
        (BROKEN, "Should I point zeta-cache to version 2.9.1?"),
        # the reporter's narration of the act that broke it
        ("I switched zeta-cache to 3.0.0 and now the pool never connects.", "Same here."),
        # a request to the maintainers in the opening post
        (
            "Since zeta-cache 3.0.0 the pool never connects. Please point the zeta-cache "
            "dependency to version 2.9.1 in your setup.py.",
            "Same here.",
        ),
        # an error message's own words
        (BROKEN, "```\nhint: move zeta-cache to version 2.9.1 or later\n```"),
    ],
)
def test_acts_to_a_version_that_are_no_advice(body, reply):
    claims = thread(("reporter", None, body), ("u", None, reply))
    assert not versions(claims), found(claims)


# --- family: success said in any language the threads are written in -----------------------------
# A report that an act worked makes it advice (and its version a good one, not the report's),
# whatever the language: "即可正常运行", "잘 됩니다", "funciona correctamente", "e funcionou",
# "動きました", "ya no da error"; and one act in its own spelling ("x=2.9.1", "x-2.9.1").


@pytest.mark.parametrize(
    "body",
    [
        "发现是`zeta-cache`包版本的问题。默认安装`zeta-cache-3.0.0`。"
        "换成`zeta-cache-2.9.1`就能正常使用",
        "zeta-cache 3.0.0 에서 오류가 납니다. zeta-cache 2.9.1 로 바꾸니까 잘 됩니다.",
        "Con zeta-cache 3.0.0 falla la conexión. Volviendo a zeta-cache 2.9.1 funciona "
        "correctamente.",
        "Com zeta-cache 3.0.0 a conexão falha. Voltei para a zeta-cache 2.9.1 e funcionou.",
        "zeta-cache 3.0.0でエラーになります。zeta-cache 2.9.1に戻したら動きました。",
    ],
)
def test_the_opening_posts_act_said_to_work_in_any_language(body):
    claims = thread(("reporter", None, body), ("u", None, "+1"))
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)
    claim = next(c for c in claims if c.target == "2.9.1")
    assert claim.range and claim.range.startswith(">=3.0.0"), claim.range


@pytest.mark.parametrize(
    "reply",
    [
        "试试 zeta-cache=2.9.1",
        "zeta-cache 2.9.1 로 바꾸면 해결됩니다.",
        "Con zeta-cache 2.9.1 ya no da error.",
        "Mit zeta-cache 2.9.1 läuft es wieder.",
    ],
)
def test_a_reply_in_any_language_gives_the_version(reply):
    claims = thread(("reporter", None, BROKEN), ("u", None, reply))
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)


@pytest.mark.parametrize(
    "body,reply",
    [
        # the act still fails
        ("发现是`zeta-cache`包版本的问题。改为`zeta-cache-2.9.1`还是报错", "+1"),
        ("zeta-cache 3.0.0 에서 오류가 납니다. 2.9.1 로 바꿔도 안 됩니다.", "+1"),
        # a question
        (BROKEN, "改为 zeta-cache 2.9.1 可以吗"),
        (BROKEN, "¿Con zeta-cache 2.9.1 funciona?"),
        # the setup that works elsewhere is the report, not advice
        ("zeta-cache 3.0.0 falla aquí, pero en otra máquina con zeta-cache 2.9.1 funciona.", "+1"),
    ],
)
def test_acts_in_other_languages_that_are_no_advice(body, reply):
    claims = thread(("reporter", None, body), ("u", None, reply))
    assert not versions(claims), found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "在安装`web-kit==1.1.2`的时候, 默认装上了`zeta-cache-3.0.0`。"
        "改为`zeta-cache-2.9.1`就正常了",
        "When installing `web-kit==1.1.2`, pip pulls `zeta-cache==3.0.0`. Changing it to "
        "`zeta-cache==2.9.1` makes it run fine.",
    ],
)
def test_only_the_clause_said_to_work_is_advice(body):
    """The success is said of one clause; the entries of the others are the report."""
    claims = thread(("reporter", None, body), ("u", None, "+1"))
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)
    assert not [c for c in claims if c.subject.lower() == "web-kit"], found(claims)


# --- family: a commenter who answers as the project ---------------------------------------------
# Without `authorAssociation`, someone who merges the fix, ships an update, says when a change
# will be released, or triages by the project's template speaks for the project.


def _speaker_of(claims, kind: str) -> str:
    return next(c for c in claims if c.kind == kind).speaker


@pytest.mark.parametrize(
    "reply",
    [
        "The PR for this has been merged. Please upgrade zeta-cache to 3.0.1.",
        "对应的PR已合并, please upgrade zeta-cache to 3.0.1",
        "We just pushed an update to fix that, please upgrade zeta-cache to 3.0.1.",
        "Pool support has already been added and will be released in 3.0.1; upgrade zeta-cache "
        "to 3.0.1 then.",
        "Please follow the issue template next time. You need to upgrade zeta-cache to 3.0.1.",
    ],
)
def test_a_commenter_who_answers_as_the_project_is_a_maintainer(reply):
    claims = thread(("reporter", None, BROKEN), ("dev1", None, reply))
    assert _speaker_of(claims, "upgrade") == "maintainer", found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        # a question about the project's PR
        "Has the PR been merged yet? Upgrading zeta-cache to 3.0.1 fixed it for me.",
        # a user's own PR, fork or app
        "I opened a PR for this. Meanwhile, upgrading zeta-cache to 3.0.1 fixed it for me.",
        "I pushed an update to my fork that upgrades zeta-cache to 3.0.1 and it works.",
        "My PR was merged into our app; upgrading zeta-cache to 3.0.1 fixed it for me.",
    ],
)
def test_a_user_speaking_of_prs_and_updates_stays_a_user(reply):
    claims = thread(("reporter", None, BROKEN), ("someone", None, reply))
    assert _speaker_of(claims, "upgrade") == "user", found(claims)


# --- family: a version named, then acted on by reference -----------------------------------------
# "Supported till 2.9.1, you can install this version", "The last version that supports CommonJS
# is 2.9.1, install that one", "2.9.1 is the last release with require support; pin that": the
# act's object points back at the version the sentence named.


@pytest.mark.parametrize(
    "reply",
    [
        "Supported till 2.9.1, you can install this version if you want the old pool.",
        "The last version that supports CommonJS is 2.9.1, install that one.",
        "CommonJS works up to 2.9.1, so use that version.",
        "2.9.1 is the last release with the old pool; pin that.",
    ],
)
def test_an_act_on_the_version_the_sentence_named(reply):
    claims = thread(("reporter", None, BROKEN), ("u", None, reply))
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)


@pytest.mark.parametrize(
    "body,reply",
    [
        # a question
        (BROKEN, "Supported till 2.9.1, should I install that version?"),
        # the act on the named version failed
        (
            BROKEN,
            "The last version with the old pool is 2.9.1, I installed that one and it still fails.",
        ),
        # the opening post's setup
        (
            "Supported till 3.0.0 says the README, so I installed that version and now it hangs.",
            "+1",
        ),
    ],
)
def test_acts_by_reference_that_are_no_advice(body, reply):
    claims = thread(("reporter", None, body), ("u", None, reply))
    assert not versions(claims), found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "Supported till 2.9.1, you can install this version if you want to use require.",
        "The last release that still loads with require is 2.9.1; use that one.",
    ],
)
def test_a_thread_that_names_no_package_is_about_its_trackers_package(reply):
    """No package named anywhere: "this version" is one of the tracker's own package."""
    opening = "Error [ERR_REQUIRE_ESM]: require() of ES Module index.js is not supported"
    claims = thread(("reporter", None, opening), ("u", None, reply), repo="acme/zeta-cache")
    assert ("zeta-cache", "2.9.1") in back(claims), found(claims)


@pytest.mark.parametrize(
    "body",
    [
        "Downgrading zeta-cache to 0.30.6 fixed it for me. 1." + "9" * 3000,
        "zeta-cache (19.0.0) 1." + "9" * 40,
    ],
)
def test_a_version_too_long_for_any_range_is_no_report(body):
    """Found by tests/test_properties.py: "1.999…" made a range no range check accepts."""
    from experimentos.lifecycle.ingest import parse_payload, plan_ingest
    from experimentos.repofacts.names import range_problem

    url = "https://github.com/acme/zeta-cache/issues/1"
    payload = {"url": url, "title": "0", "body": body, "state": "OPEN", "comments": []}
    result, _ = plan_ingest(parse_payload(payload, "made-up"))
    assert result.range is None or range_problem(result.range) is None, result.range
