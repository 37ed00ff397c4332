"""Issue 24, second round of generalisation: classes of advice the reading missed on held-out
threads (heldout5, heldout6), each written here as made-up threads in wider variants than the
corpus holds. None of these threads is in the corpus."""

from __future__ import annotations

import pytest

from .test_ingest_general import PROBLEM, found, ingest

# --- dependency declarations offered as the fix: pins --------------------------------------------


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        # a fenced block of requirement lines after a sentence that says it fixed things
        (
            "We fixed this locally by doing the same as they suggest:\n\n```\nacme-orm<2.0\n```",
            ("pin", "acme-orm", "<2.0"),
        ),
        # package.json entries in a plain paragraph after "Add:"
        (
            'Add:\n\n"acme-orm": "^1.4.2"\n\nto "dependencies" in the package.json file',
            ("pin", "acme-orm", "^1.4.2"),
        ),
        # a block of entries, then the words that say why: lock them
        (
            '```json\n"acme-orm": "^1",\n"acme-cli": "^3",\n```\n\n锁定版本，有些有 break change',
            ("pin", "acme-cli", "^3"),
        ),
        (
            '```\n"acme-orm": "^1",\n```\n\nPin the versions like this and it works again.',
            ("pin", "acme-orm", "^1"),
        ),
        # a TOML entry in an inline span
        ('add to `pyproject.toml` `acme-orm = "<2.0"`', ("pin", "acme-orm", "<2.0")),
        ("Setting `acme-orm<2.0` in requirements.txt solved it.", ("pin", "acme-orm", "<2.0")),
    ],
)
def test_dependency_declarations_offered_as_the_fix_are_pins(reply, want):
    claims = ingest(PROBLEM, reply)
    assert want in found(claims)
    claim = next(c for c in claims if (c.kind, c.subject, c.target) == want)
    assert claim.first_comment == 1


@pytest.mark.parametrize(
    "reply",
    [
        'Here is my package.json:\n\n```json\n"acme-orm": "^2.0.3",\n"acme-cli": "^3",\n```',
        "My requirements:\n\n```\nacme-orm==2.0.3\nacme-cli==3.1\n```\n\nStill broken.",
        "```\nacme-orm==2.0.3\n```\n\nThis is what I have installed.",
        # a swap of packages is not a pin of the new one
        'Replacing acme-orm with `"acme-orm-lite": "^1.3.0",` worked for me.',
    ],
)
def test_a_pasted_manifest_is_not_advice(reply):
    assert not [c for c in ingest(PROBLEM, reply) if c.kind in ("pin", "downgrade", "upgrade")]


def test_a_fixing_declaration_in_the_opening_post_is_advice():
    body = PROBLEM + "\n\nWe fixed this locally by pinning:\n\n```\nacme-orm<2.0\n```"
    assert ("pin", "acme-orm", "<2.0") in found(ingest(body))


# --- moods and clauses the general reading missed -------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        # CJK clauses joined by an ASCII comma with no space: the failure is in another clause
        (
            "一开始一直报错,各种弄都不行,把acme-orm从2.0.3升级到2.1.0后解决问题.请进行更新!",
            ("upgrade", "acme-orm", "2.1.0"),
        ),
        ("之前一直报错,换成acme-orm 1.4.2就可以了", ("downgrade", "acme-orm", "1.4.2")),
        # "can run" / "runs now" report success
        (
            "acme-orm version 1.4.2 can run。The problem is solved。",
            ("downgrade", "acme-orm", "1.4.2"),
        ),
        ("With acme-orm 1.4.2 the app can run again.", ("downgrade", "acme-orm", "1.4.2")),
        ("Installed acme-orm 2.1.0 and it runs now.", ("upgrade", "acme-orm", "2.1.0")),
        # "it should be X (rather than Y)": the version it should be
        (
            "We forgot the specific version, but it should be 1.4 rather than 2.X.",
            ("downgrade", "acme-orm", "1.4"),
        ),
        ("The acme-orm version should be 2.1.0 or later.", ("upgrade", "acme-orm", "2.1.0")),
    ],
)
def test_general_moods_and_clauses(reply, want):
    claims = ingest(PROBLEM, reply)
    assert want in found(claims)


@pytest.mark.parametrize(
    "reply",
    [
        "一开始用acme-orm 2.0.3,一直报错,还是不行",
        "acme-orm 2.0.3 can't run at all.",
        "The output should be 1.4 but it is 2.0.",
    ],
)
def test_failures_and_expectations_are_not_advice(reply):
    assert not [c for c in ingest(PROBLEM, reply) if c.kind in ("pin", "downgrade", "upgrade")]


def test_the_package_a_clause_without_a_version_names_is_the_next_clauses():
    body = PROBLEM + " It started when acme-cli 3.2.0 came out."
    reply = "We forgot the specific acme-cli version, but it should be 3.1 rather than 3.2."
    claims = [c for c in ingest(body, reply) if c.first_comment == 1]
    assert {(c.subject, c.target) for c in claims} == {("acme-cli", "3.1")}


# --- release names: dist-tags and calendar versions -------------------------------------------


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        ("Please use `next` tag:)", ("upgrade", "acme-orm", "next")),
        ("You can install the `beta` tag for now.", ("upgrade", "acme-orm", "beta")),
        ("Try `npm i acme-orm@next`, it has the fix.", ("upgrade", "acme-orm", "next")),
        ("Use the canary dist-tag until the release.", ("upgrade", "acme-orm", "canary")),
    ],
)
def test_a_dist_tag_to_use_is_an_upgrade_to_it(reply, want):
    claims = ingest(PROBLEM, reply)
    assert want in found(claims)
    assert not [c for c in claims if c.kind == "use"]


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        ("new release v20230629 is available at pypi", ("upgrade", "acme-orm", "20230629")),
        ("Fixed in 2024.03.1, please upgrade.", ("upgrade", "acme-orm", "2024.03.1")),
        ("Released acme-orm 20240105 with the fix.", ("upgrade", "acme-orm", "20240105")),
    ],
)
def test_calendar_versions_are_versions(reply, want):
    body = PROBLEM
    assert want in found(ingest(body, reply))


def test_a_long_number_is_not_a_version():
    reply = "Fixed in #20230629, see commit 12345678 for the details."
    assert not [c for c in ingest(PROBLEM, reply) if c.kind == "upgrade" and c.target != "latest"]


# --- API swaps whose replaced name is said elsewhere ----------------------------------------------

REMOVED = "Since acme-orm 2.0.3, `Session.bulk_insert()` has been removed."


@pytest.mark.parametrize(
    ("body", "replies", "want"),
    [
        (
            PROBLEM,
            ['You can resolve it by using "insert_many" instead of "bulk_insert".'],
            ("use", "insert_many", "bulk_insert"),
        ),
        (
            REMOVED,
            ["You need to use `insert_many()` instead."],
            ("use", "insert_many()", "bulk_insert"),
        ),
        (
            REMOVED + " `insert_many()` should be used instead.",
            [],
            ("use", "insert_many()", "bulk_insert"),
        ),
        (
            PROBLEM,
            ['You can resolve the above issue by using "insert_many" instead of "bulk_insert".'],
            ("use", "insert_many", "bulk_insert"),
        ),
        (
            REMOVED + "\n\nYou need to use [insert_many](https://x.org/a) instead (mostly):",
            [],
            ("use", "insert_many", "bulk_insert"),
        ),
        (
            REMOVED + "\n\nThe suggested replacement is to use [insert_many](https://x.org/a).",
            [],
            ("use", "insert_many", "bulk_insert"),
        ),
    ],
)
def test_use_instead_takes_the_replaced_name_from_the_thread(body, replies, want):
    claims = ingest(body, *replies)
    got = {
        (c.kind, c.subject.removesuffix("()"), (c.target or "").split(".")[-1].removesuffix("()"))
        for c in claims
    }
    assert (want[0], want[1].removesuffix("()"), want[2]) in got


@pytest.mark.parametrize("gap", ["\n", "\n\n"])
def test_replace_one_code_block_with_another_is_a_swap(gap):
    reply = (
        f"A quick fix is to replace{gap}```\nimport acme_orm.bulk\n```{gap}with{gap}```\n"
        f"import acme_orm.many as bulk\n```{gap}Hope it helps."
    )
    claims = ingest(PROBLEM, reply)
    assert any(c.kind == "use" and "acme_orm.many" in c.subject for c in claims)


# --- an environment pasted as a table is not versions of the library ------------------------------


@pytest.mark.parametrize("bold", ["", "**"])
def test_a_pasted_package_table_does_not_widen_the_scope(bold):
    table = "\n".join(
        [
            "Package            Version",
            "------------------ ---------",
            "certifi            2023.7.22",
            "executing          2.0.1",
            f"acme-orm           {bold}2.0.3{bold}",
            "acme-orm-inline    0.1.6",
            "packaging          23.2",
        ]
    )
    body = (
        "With acme-orm 2.0.3, `bulk_insert()` raises.\n\n"
        "Solution: downgrading to acme-orm 1.4.2 works.\n\n### pip list:\n\n" + table
    )
    claims = ingest(body, title="Issue with acme-orm-2.0.3 package")
    claim = next(c for c in claims if c.kind == "downgrade")
    assert (claim.subject, claim.target) == ("acme-orm", "1.4.2")
    assert claim.range == ">=2.0.3,<3.0.0"


# --- workarounds said in words: a clean reinstall, another package manager ---------------------


@pytest.mark.parametrize(
    "reply",
    [
        "In case you did not already, you may need to delete an existing lock file and "
        "`node_modules` and do a fresh install to clear the problem.",
        "Delete node_modules and package-lock.json, then run npm install again.",
        "rm -rf node_modules and reinstall fixed it for me.",
        "Removing the poetry.lock and reinstalling solved it.",
    ],
)
def test_a_clean_reinstall_offered_is_a_workaround(reply):
    claims = ingest(PROBLEM, reply)
    assert [c.kind for c in claims if c.first_comment == 1] == ["workaround"]


@pytest.mark.parametrize(
    "reply",
    [
        "Same, with yarn works fine",
        "I noticed the error appears when i use yarn, when i switched to npm, it disappeared.",
        "Installing with pnpm instead of npm works.",
    ],
)
def test_another_package_manager_that_works_is_a_workaround(reply):
    claims = ingest(PROBLEM, reply)
    assert [c.kind for c in claims if c.first_comment == 1] == ["workaround"]


@pytest.mark.parametrize(
    "reply",
    [
        "I deleted node_modules and the lock file and it still fails.",
        "Same issue with yarn.",
        "Did you delete node_modules?",
        "Don't delete the lock file, it pins everything.",
        "I use yarn 1.22.19 too.",
    ],
)
def test_failed_or_asked_cleanups_are_not_workarounds(reply):
    assert not [c for c in ingest(PROBLEM, reply) if c.first_comment == 1]


@pytest.mark.parametrize("manager", ["yarn", "pnpm", "bun"])
def test_a_package_managers_version_is_not_the_librarys(manager):
    body = "With acme-orm 2.0.3, `bulk_insert()` raises."
    claims = ingest(
        body,
        f"i use {manager} in version 1.22.22 and the problem still persists",
        "Downgrading acme-orm to 1.4.2 fixed it.",
    )
    claim = next(c for c in claims if c.kind == "downgrade")
    assert claim.range.replace(",", " ") == ">=2.0.3 <3.0.0"  # npm's syntax or PEP 440's


# --- an opening post by a maintainer gives advice, not requests -----------------------------------


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ("需要将acme-orm降为1.4.2", ("downgrade", "acme-orm", "1.4.2")),
        ("Erratum: you need to pin acme-orm to 1.4.2 until 2.1.0.", ("pin", "acme-orm", "1.4.2")),
        ('Add `"acme-orm": "^1.4.2"` to your package.json.', ("pin", "acme-orm", "^1.4.2")),
    ],
)
def test_an_opening_post_by_the_owner_gives_advice(body, want):
    claims = ingest(body, owner=True)
    assert want in found(claims)
    assert next(c for c in claims if (c.kind, c.subject, c.target) == want).speaker == "maintainer"


@pytest.mark.parametrize(
    "body", ["需要将acme-orm降为1.4.2", 'Add `"acme-orm": "^1.4.2"` to your package.json.']
)
def test_the_same_words_from_a_reporter_ask_the_maintainers(body):
    assert not [c for c in ingest(body) if c.kind in ("pin", "downgrade")]


@pytest.mark.parametrize(
    "sentence",
    [
        "Additionally when upgrading to `v8` you need to update `webpack` too.",
        "If you upgrade to 3.0.0 you must migrate the config first.",
    ],
)
def test_a_version_in_a_condition_is_not_the_advice(sentence):
    claims = ingest(sentence, owner=True)
    assert not [c for c in claims if c.target in ("8", "3.0.0")]


# --- triage by closing: the commenter speaks for the project -------------------------------------


@pytest.mark.parametrize(
    ("closing", "maintainer"),
    [
        ("Close as duplicated with #3772", True),
        ("Closed as a duplicate of #12.", True),
        ("closed by 17236b9", True),
        ("Closed with 1ea4883e (refactoring)", True),
        ("Closing as not planned.", True),
        ("Please close this, it works for me now.", False),
        ("Can this be closed as a duplicate?", False),
    ],
)
def test_who_closes_the_issue_speaks_for_the_project(closing, maintainer):
    from experimentos.lifecycle.ingest.speakers import speaks_for_project

    assert bool(speaks_for_project(closing)) is maintainer


# --- announcements, recommendations and fixes introduced without a colon --------------------------


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        ("This has been fixed by acme-orm 2.1.0.", ("upgrade", "acme-orm", "2.1.0")),
        (
            "It was fixed by `acme-orm@2.1.0`, versions before fail.",
            ("upgrade", "acme-orm", "2.1.0"),
        ),
        (
            "I would just upgrade the acme-orm version in your local project.",
            ("upgrade", "acme-orm", "latest"),
        ),
        ("I'd upgrade acme-orm to 2.1.0 in the poetry files.", ("upgrade", "acme-orm", "2.1.0")),
    ],
)
def test_announcements_by_and_recommendations_by_i_would(reply, want):
    assert want in found(ingest(PROBLEM, reply))


@pytest.mark.parametrize(
    "intro",
    ["I can fix it by this command", "I fixed it with these commands", "Solved by running"],
)
def test_a_fix_block_introduced_without_a_colon(intro):
    body = PROBLEM + f"\n\n{intro}\n```\npoetry add acme-orm==1.4.2\n```"
    assert ("downgrade", "acme-orm", "1.4.2") in found(ingest(body))


def test_a_block_after_a_plain_sentence_is_still_not_advice():
    body = PROBLEM + "\n\nI ran this command\n```\npoetry add acme-orm==2.0.3\n```\nand it fails."
    assert not [c for c in ingest(body) if c.target == "2.0.3"]


@pytest.mark.parametrize(
    "reply",
    [
        "This has been fixed by acme-orm 2.1.0. Versions before that won't work with click 8.1.0.",
        "Upgrade to acme-orm 2.1.0, anything older than that is affected.",
        "Fixed in 2.1.0; releases prior to it still fail.",
    ],
)
def test_versions_before_the_fix_are_the_line_of_the_upgrade(reply):
    body = "`bulk_insert()` raises with click 8.1.0."
    claims = ingest(body, reply)
    claim = next(c for c in claims if (c.kind, c.target) == ("upgrade", "2.1.0"))
    assert (claim.library, claim.range) == ("acme-orm", "<2.1.0")


@pytest.mark.parametrize(
    "text",
    [
        "It's okay to use acme-orm in 1.4.2. It causes errors in higher versions.",
        "It works fine to use acme-orm at 1.4.2 here.",
    ],
)
def test_a_version_the_package_works_at(text):
    assert {(c.subject, c.target) for c in ingest(PROBLEM, text)} == {("acme-orm", "1.4.2")}


def test_where_another_package_is_named_the_version_is_still_not_the_target():
    reply = "Just revert npm included with Node.js v16, it works fine."
    assert not [c for c in ingest(PROBLEM, reply) if c.target in ("16", "v16")]


def test_a_version_said_okay_to_use_is_not_reported_broken():
    from experimentos.lifecycle.ingest import parse_payload
    from experimentos.lifecycle.ingest.mentions import version_mentions

    issue = {
        "html_url": "https://github.com/acme/app/issues/1",
        "number": 1,
        "title": "errors with some versions",
        "user": {"login": "r"},
        "body": "It's okay to use acme-orm in 1.4.2. Higher versions fail.",
        "created_at": "2024-05-01T00:00:00Z",
    }
    mentions = version_mentions(parse_payload({"issue": issue, "comments": []}, "made-up"))
    assert [(m.text, m.role) for m in mentions] == [("1.4.2", "good")]
