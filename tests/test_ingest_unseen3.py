"""Issue 24, third round of generalisation: classes of advice the reading missed on heldout7's
one blind run, each written here as made-up threads in wider variants than the corpus holds
(no thread of the corpus, no library name from it). heldout7's own figures stay those of its
first run; these classes are measured on unseen threads by the next held-out set."""

from __future__ import annotations

import pytest

from experimentos.lifecycle.ingest import parse_payload, plan_ingest
from experimentos.repofacts.facts import python_key

REPO = "acme/acme-orm"
ESM = (
    "I installed acme-orm v2.0.2 and on start I see\n\n"
    "```\nError [ERR_REQUIRE_ESM]: require() of ES Module node_modules/acme-orm/index.js\n```"
)


def thread(*comments: tuple[str, str | None, str], title: str = "require error", repo: str = REPO):
    """A thread from (login, authorAssociation or None, body); the first is the opening post."""
    url = f"https://github.com/{repo}/issues/9"
    (login, association, body), *replies = comments
    issue = {
        "html_url": url,
        "number": 9,
        "title": title,
        "state": "open",
        "labels": [],
        "user": {"login": login},
        "body": body,
        "created_at": "2024-05-01T00:00:00Z",
    }
    if association:
        issue["author_association"] = association
    rows = []
    for who, assoc, text in replies:
        row = {"html_url": url, "user": {"login": who}, "created_at": "2024-05-02", "body": text}
        if assoc:
            row["author_association"] = assoc
        rows.append(row)
    result, _ = plan_ingest(parse_payload({"issue": issue, "comments": rows}, "made-up"))
    return result.claims


def found(claims) -> set[tuple[str, str, str | None]]:
    return {(c.kind, c.subject.lower(), c.target) for c in claims}


def versions(claims) -> list:
    return [c for c in claims if c.kind in ("upgrade", "downgrade", "pin")]


# --- the direction of a version a maintainer names: below what broke is going back ----------------


@pytest.mark.parametrize(
    "reply",
    [
        "Use `acme-orm@1` for legacy projects.\n\nThe newest acme-orm is for ESM projects.",
        "If you still compile your app to CJS, use acme-orm 1.",
        "For CommonJS apps please install acme-orm@1.",
    ],
)
def test_a_maintainers_version_below_the_broken_one_is_a_downgrade(reply):
    claims = thread(("reporter", None, ESM), ("acme", "OWNER", reply))
    assert ("downgrade", "acme-orm", "1") in found(claims)
    assert not [c for c in claims if c.kind == "upgrade"]
    claim = next(c for c in claims if c.kind == "downgrade")
    assert claim.speaker == "maintainer" and claim.range.startswith(">=2.0.2")


# --- the opening post's narration and requests are not advice -------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "install acme-orm v2.0.2 because nodejs is 14.17.6\n\nimport as\n\n"
        "import { x } from 'acme-orm'\n\non start see error",
        "To replicate the bug, just install acme-orm version 2.0.2 and run `node app.js`.",
        "There is an Error when using acme-orm 2.0.2.\n\n"
        "Please pin acme-orm to <= 1.4.2 in requirements.txt",
        "Since 2.0.2 it breaks.\n\nPlease lock `acme-orm<=1.4.2` in package.json.",
    ],
)
def test_the_opening_posts_narration_and_requests_are_not_advice(body):
    assert not versions(thread(("reporter", None, body)))


# --- the library under another name: "the package", a product name in words -----------------------


@pytest.mark.parametrize(
    "reply",
    [
        "i solved downgrading the package version to 1.4.2",
        "Downgrading this library to 1.4.2 fixed it for me.",
        "I rolled the package back to v1.4.2 and it works again.",
    ],
)
def test_the_package_stands_for_the_library(reply):
    claims = thread(("reporter", None, ESM), ("someone", None, reply))
    assert ("downgrade", "acme-orm", "1.4.2") in found(claims)
    assert {c.subject.lower() for c in versions(claims)} == {"acme-orm"}


@pytest.mark.parametrize(
    "reply",
    [
        "If you still convert your TS app to CJS, use Acme ORM 1.",
        "Stay on Acme-ORM 1 for CommonJS projects.",
    ],
)
def test_the_library_named_in_words_is_the_library(reply):
    claims = thread(("reporter", None, ESM), ("acme", "OWNER", reply))
    subjects = {(c.kind, c.subject.lower(), c.target) for c in versions(claims)}
    assert subjects and {s[1] for s in subjects} == {"acme-orm"}
    assert all(s[2] == "1" for s in subjects)


# --- going back in other words --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "target"),
    [
        ("I currently restored acme-orm version 1.4.2 to not have the issue.", "1.4.2"),
        ("Reverting acme-orm to 1.4.2 avoids the problem.", "1.4.2"),
        ("I went back to acme-orm 1.4.2 and the error is gone.", "1.4.2"),
        ("I managed to fix it by downgrading to a version previous to 2.0.", "<2.0"),
        ("Installing any version before 2.0 solved it.", "<2.0"),
        ("Downgrading acme-orm to a release older than 2.0.2 fixes it.", "<2.0.2"),
        ("I fixed it by going back to versions prior to 2.0", "<2.0"),
    ],
)
def test_going_back_in_words_is_a_downgrade(reply, target):
    claims = thread(("reporter", None, ESM + "\n\n" + reply))
    # going back below a bound: a downgrade or a pin, the same family of advice
    assert {("downgrade", "acme-orm", target), ("pin", "acme-orm", target)} & found(claims)


# --- a fix labelled in the opening post -----------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        "FIX:\n\nforce requirements by adding:\n\n```\nacme-orm<2.0\n```\n\n"
        "to the requirements file.",
        "Workaround:\n\n```\nacme-orm<2.0\n```",
        "**Fix**: add\n\n```\nacme-orm<2.0\n```\n\nto requirements.txt",
    ],
)
def test_a_fix_the_opening_post_labels_is_advice(tail):
    body = "ImportError: cannot import name 'x' from 'acme_orm'\n\n" + tail
    assert ("pin", "acme-orm", "<2.0") in found(thread(("reporter", None, body)))


# --- the package an act names, apart from its version ---------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Updating acme-web in _requirements.txt_ to version 2.1.x fixes this issue.",
        "Bumping acme-web in my package.json to 2.1.x fixes this issue.",
    ],
)
def test_the_package_an_act_names_keeps_its_version_across_words(sentence):
    body = (
        '```\nFile "venv/lib/site-packages/acme_web/__init__.py", line 14\n'
        "    from acme_orm import escape\nImportError: cannot import name 'escape'\n```\n\n"
        + sentence
    )
    claims = thread(("reporter", None, body))
    got = {(c.kind, python_key(c.subject), c.target) for c in versions(claims)}
    assert got & {("upgrade", "acme-web", "2.1.x"), ("upgrade", "acme-web", "2.1")}
    assert {s for _, s, _ in got} == {"acme-web"}


def test_a_version_named_before_its_package_scopes_the_swap():
    reply = (
        "Since v2.0.0 acme-orm, `bulk_insert` has been deprecated.\n\n"
        "You can use `insert_many` now."
    )
    claims = thread(
        ("reporter", None, "I updated acme-orm and now this fails."),
        ("u", None, reply),
        title="ImportError: cannot import name 'bulk_insert' from 'acme_orm'",
    )
    use = [c for c in claims if c.kind == "use"]
    assert use and use[0].subject.startswith("insert_many") and use[0].range == ">=2.0.0"


# --- avoidance said as "no need to" ---------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "We still support 1.x branch. You do not need to update to 2.0 if you have CJS app.",
        "There is no need to upgrade to 2.0 if your project is CommonJS.",
        "Don't upgrade to 2.x if you are on CommonJS.",
    ],
)
def test_no_need_to_upgrade_is_avoidance(reply):
    claims = thread(("reporter", None, ESM), ("acme", "OWNER", reply))
    avoid = [c for c in claims if c.kind == "avoid"]
    assert avoid and avoid[0].subject.lower() == "acme-orm"
    assert avoid[0].target.lstrip(">=") in ("2.0", "2.x", "2")


# --- alternatives in a list, and "stick to" -------------------------------------------------------


def test_a_list_of_alternatives_is_advice():
    reply = (
        "acme-orm 2 is esm only\n\nAs mentioned in the other issues:\n\n"
        "- stick with acme-orm 1\n- move to esm\n- use a dynamic import\n\n"
        "One of the above is the solution"
    )
    claims = thread(("reporter", None, ESM), ("acme", "OWNER", reply))
    assert ("pin", "acme-orm", "1") in found(claims)
    assert [c for c in claims if c.kind == "workaround" and c.first_comment == 1]


@pytest.mark.parametrize(
    "reply",
    [
        "you'd have to use a dynamic import to import acme-orm 2.x. but i'd just stick to 1.x "
        "until you can migrate your own project to use ESM.",
        "I would stay on 1.x for now.",
    ],
)
def test_stick_to_a_line_is_a_pin_to_it(reply):
    claims = thread(("reporter", None, ESM), ("acme", "OWNER", reply))
    assert {("pin", "acme-orm", "1.x"), ("pin", "acme-orm", "1")} & found(claims)
    assert all(c.range.startswith(">=2.0.2") for c in versions(claims))  # the line it is for
    assert not [c for c in versions(claims) if c.target in ("2.x", "2")]


# --- one piece of advice said with and without its operator ---------------------------------------


def test_the_same_version_with_a_caret_is_the_same_advice():
    claims = thread(
        ("reporter", None, ESM),
        ("a", None, "So I downgraded this package to version `acme-orm@^1.4.2` and it solved it."),
        ("b", None, "The downgrade to `acme-orm@^1.4.2` worked for me as well."),
        ("c", None, "downgrading to `1.4.2` fixed it."),
    )
    back = versions(claims)
    assert len(back) == 1 and back[0].kind == "downgrade" and back[0].first_comment == 1


# --- who speaks for the project -------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "v2 is ESM only. i'm sure we could continue updating a v1 branch meanwhile.",
        "We still support the 1.x branch.",
        "Yes, it happens because in 2.0 we moved to ESM.",
        "i have no doubt we will still be supporting 1.x in some way.",
    ],
)
def test_speaking_of_the_projects_lines_is_speaking_for_it(reply):
    claims = thread(
        ("reporter", None, ESM),
        ("helper", None, reply + "\n\nUse acme-orm 1 for now."),
    )
    assert claims and all(c.speaker == "maintainer" for c in versions(claims))


def test_a_user_speaking_of_their_own_app_is_not_a_maintainer():
    reply = "We moved our app to ESM last week. Downgrading to acme-orm 1.4.2 fixed it for us."
    claims = thread(("reporter", None, ESM), ("helper", None, reply))
    assert claims and all(c.speaker == "user" for c in versions(claims))


# --- workarounds given as commands or links -------------------------------------------------------


def test_a_clean_reinstall_given_as_command_blocks_is_a_workaround():
    reply = (
        "In case someone faces this also.\n\n```sh\nrm -rf node_modules\nrm -f package-lock.json\n"
        "npm cache clean --force\n```\n\nto uninstall all packages and another\n\n"
        "```sh\nnpm install\n```\n\nfixed the issue."
    )
    claims = thread(("reporter", None, ESM), ("reporter", None, reply))
    assert [c for c in claims if c.kind == "workaround" and c.first_comment == 1]


@pytest.mark.parametrize(
    "reply",
    [
        "Use; https://www.npmjs.com/package/nope-id @reporter",
        "Try https://pypi.org/project/nope-id/ instead.",
    ],
)
def test_a_link_to_another_package_offered_is_a_workaround(reply):
    claims = thread(("reporter", None, ESM), ("u", None, reply))
    assert [c for c in claims if c.kind == "workaround" and "nope-id" in c.subject]


def test_a_command_after_a_colon_with_a_downgrade_is_a_downgrade():
    body = (
        "i'm using acme-orm@2.0.4 with nestjs\n\nI'm downgrade version : npm install "
        "acme-orm@^1.0.0 library work well. Please fix it."
    )
    assert ("downgrade", "acme-orm", "^1.0.0") in found(thread(("reporter", None, body)))


@pytest.mark.parametrize(
    "reply",
    [
        "I tried\n\n```sh\nrm -rf node_modules\nnpm cache clean --force\nnpm install\n```\n\n"
        "but it still fails.",
        "See https://www.npmjs.com/package/acme-orm for the changelog.",
        "Does https://www.npmjs.com/package/nope-id have the same bug?",
    ],
)
def test_commands_that_failed_and_links_not_offered_are_not_workarounds(reply):
    claims = thread(("reporter", None, ESM), ("u", None, reply))
    assert not [c for c in claims if c.kind == "workaround"]


@pytest.mark.parametrize(
    "reply",
    [
        "What I did:\n\n- use node 18\n- run the build\n\nStill the same error.",
        "Steps:\n- install acme-orm\n- import it\n- call bulk_insert",
    ],
)
def test_a_list_of_steps_is_not_a_list_of_alternatives(reply):
    claims = thread(("reporter", None, ESM), ("u", None, reply))
    assert not [c for c in claims if c.kind == "workaround"]


# --- "fixed in the latest version", and the package a repository publishes ------------------------


@pytest.mark.parametrize(
    ("repo", "package"),
    [
        ("acme/acme-sdk-python", "acme"),
        ("acme/node-acme", "acme"),
        ("acme/acme-js", "acme"),
    ],
)
def test_fixed_in_the_latest_version_is_an_upgrade_of_the_trackers_package(repo, package):
    body = "Since httpx 0.28 the client fails.\n\nWe fixed this locally by pinning `httpx<0.28`"
    claims = thread(
        ("reporter", None, body),
        ("helper", None, "This is already fixed in the latest version!"),
        repo=repo,
    )
    up = [c for c in claims if c.kind == "upgrade"]
    assert [(c.subject, c.target, c.speaker) for c in up] == [(package, "latest", "maintainer")]


@pytest.mark.parametrize(
    "line",
    [
        'It\'s not a problem when I add `"acme-orm": "1"` to my package.json.',
        "It is not an issue once I add `acme-orm<2` to requirements.txt.",
    ],
)
def test_not_a_problem_when_i_add_is_a_report_that_it_worked(line):
    claims = thread(("reporter", None, ESM + "\n\n" + line))
    assert [c for c in versions(claims) if c.target in ("1", "<2")]


def test_two_acts_joined_by_or_are_two_pieces_of_advice():
    reply = (
        "acme-orm v2 dropped support for node 14. "
        "So please either use acme-orm v1 or upgrade to node 18"
    )
    got = found(thread(("reporter", None, ESM), ("u", None, reply)))
    assert ("downgrade", "acme-orm", "1") in got and ("upgrade", "node", "18") in got
