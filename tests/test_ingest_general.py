"""Issue 24, reading threads the extractor has not seen: the general reading of a sentence (a
version, its package, an act told by broad cues), the title, advice in other languages, ranges
as targets, a runtime's line, component swaps, and the scope read from the target's line and the
reporter's environment. Every thread here is made up; none is in the corpus."""

from __future__ import annotations

import pytest

from experimentos.lifecycle.ingest import parse_payload, plan_ingest

REPO = "acme/acme-orm"
PROBLEM = "Since acme-orm 2.0.3, `session.bulk_insert()` raises `TypeError`."


def ingest(body: str, *replies: str, title: str = "bulk_insert fails", owner: bool = False):
    url = f"https://github.com/{REPO}/issues/7"
    issue = {
        "html_url": url,
        "number": 7,
        "title": title,
        "state": "open",
        "labels": [],
        "user": {"login": "acme" if owner else "reporter"},
        "body": body,
        "created_at": "2024-05-01T00:00:00Z",
    }
    if owner:
        issue["author_association"] = "OWNER"
    comments = [
        {
            "html_url": url,
            "user": {"login": f"user{n}"},
            "created_at": "2024-05-02T00:00:00Z",
            "body": reply,
        }
        for n, reply in enumerate(replies)
    ]
    result, _ = plan_ingest(parse_payload({"issue": issue, "comments": comments}, "made-up"))
    return result.claims


def found(claims) -> set[tuple[str, str, str | None]]:
    return {(c.kind, c.subject, c.target) for c in claims}


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        ("降级到1.4.2就好了", ("downgrade", "acme-orm", "1.4.2")),
        ("升级acme-orm到 2.1.0问题已解决。", ("upgrade", "acme-orm", "2.1.0")),
        ("解决方法为在requirements中写死acme-orm的版本为1.4.2", ("pin", "acme-orm", "1.4.2")),
        ("acme-orm 1.4.2 にダウングレードしたら動きました", ("downgrade", "acme-orm", "1.4.2")),
        (
            "Für mich hat ein Downgrade auf acme-orm 1.4.2 geholfen.",
            ("downgrade", "acme-orm", "1.4.2"),
        ),
        ("Solución: instalar acme-orm==1.4.2", ("downgrade", "acme-orm", "1.4.2")),
        ("Con acme-orm 1.4.2 funciona correctamente.", ("downgrade", "acme-orm", "1.4.2")),
        ("Le problème disparaît avec acme-orm 1.4.2.", ("downgrade", "acme-orm", "1.4.2")),
        ("Откатился на acme-orm 1.4.2 — всё работает.", ("downgrade", "acme-orm", "1.4.2")),
    ],
)
def test_advice_in_other_languages_is_read(reply, want):
    claims = ingest(PROBLEM, reply)
    assert want in found(claims)
    claim = next(c for c in claims if (c.kind, c.subject, c.target) == want)
    assert claim.first_comment == 1 and claim.speaker == "user"
    # "since 2.0.3": every later version too, or up to the version said to fix it
    assert claim.range == (">=2.0.3,<2.1.0" if want[0] == "upgrade" else ">=2.0.3")


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        ("Rolling back to 1.4.2 made the error disappear.", ("downgrade", "acme-orm", "1.4.2")),
        ("With acme-orm@1.4.2 everything is OK again.", ("downgrade", "acme-orm", "1.4.2")),
        ("Can confirm 1.4.2 works.", ("downgrade", "acme-orm", "1.4.2")),
        ("You need acme-orm >= 2.1.0 for this to work.", ("upgrade", "acme-orm", ">=2.1.0")),
        ("Make sure you have acme-orm 2.1.0 or later.", ("upgrade", "acme-orm", "2.1.0")),
    ],
)
def test_broad_cues_read_advice_no_phrasing_lists(reply, want):
    assert want in found(ingest(PROBLEM, reply))


@pytest.mark.parametrize(
    "reply",
    [
        "Same error here on 2.0.3",
        "I tried 1.4.2 but it still fails.",
        "After upgrading to acme-orm 2.0.3 nothing works.",
        "Works fine with 2.0.3 on my machine, so I can't reproduce.",
        "Is 1.4.2 safe to use?",
        "We will release 2.1.0 tomorrow",
        "`pip install acme-orm==2.0.3` reproduces it.",
        "Some known issues with acme-orm 2.1 to be fixed:",
        "This happened in 2.0.3 and remained when upgrading to 2.0.4. Going to keep downgrading "
        "till it works.",
        "My setup: acme-orm 2.0.3 and psycopg 3.1.0, everything else works fine.",
        "2.1.0 还是报错",
        "我没有测试过1.4.2",
        "Python 3.12 is not supported yet.",
        "Any chance of a 2.1.0 release?",
    ],
)
def test_what_is_not_advice_gives_no_claim_in_any_wording(reply):
    assert ingest(PROBLEM, reply) == []


def test_the_title_is_read_as_the_opening_posts_first_sentence():
    # a report that something worked, in the title only
    title = "acme-orm 2.0.3 breaks bulk_insert 降级到1.4.2就会解决"
    claims = ingest("`TypeError` in `bulk_insert`.", title=title)
    assert found(claims) == {("downgrade", "acme-orm", "1.4.2")}
    assert claims[0].first_comment == 0 and claims[0].speaker == "reporter"
    # anyone else's instruction in a title asks the maintainers for it
    assert ingest("Please.", title="Upgrade acme-orm to 2.1.0") == []
    # the maintainers' own instruction is advice, for the line its bound names
    (pin,) = ingest("Currently breaks things", title="Pin version of acme-orm to <2", owner=True)
    assert (pin.kind, pin.subject, pin.target, pin.speaker) == (
        "pin",
        "acme-orm",
        "<2",
        "maintainer",
    )
    assert pin.range == ">=2,<3.0.0"


def test_a_range_is_one_target():
    claims = ingest(PROBLEM, "I had to downgrade `acme-orm` to `>=1.4,<2` to get tests passing.")
    assert ("downgrade", "acme-orm", ">=1.4,<2") in found(claims)
    claims = ingest(PROBLEM, "Use acme-orm >= 1.0.3 and < 2.0.0 with it, that works.")
    assert any(c.target == ">=1.0.3,<2.0.0" for c in claims), found(claims)


def test_advice_about_the_runtime_is_scoped_to_the_runtime_line_reported():
    body = (
        "`npm start` fails with `ERR_UNKNOWN_FILE_EXTENSION`.\n\nRunning Node.js 21.2.0.\n\n"
        "If I use Node 20.10.0 by doing `nvm install 20.10.0` it runs just fine."
    )
    (claim,) = ingest(body)
    assert (claim.kind, claim.subject.lower(), claim.target) == ("downgrade", "node", "20.10.0")
    assert (claim.library, claim.range) == ("node", ">=21.2.0 <22.0.0")  # npm, by its cues


def test_a_component_swap_is_read_with_the_names_the_thread_shows_as_code():
    body = "Attempted import error: 'Switch' is not exported from 'react-router-dom'."
    assert ("use", "Routes", "Switch") in found(ingest(body, "You can replace Switch to Routes."))
    pronoun = "v6 has no `<Switch />` component. It got replaced by `<Routes />`."
    assert ("use", "Routes", "Switch") in found(ingest(body, pronoun))
    # "replace X" names what goes: it never becomes "use X"
    assert not any(c.kind == "use" for c in ingest(body, "Replace Switch in your code."))


def test_the_scope_is_read_from_the_reporter_versions_not_from_the_targets():
    # the version the reporter moved to is no broken one
    body = (
        "acme-orm 2.0.0 is no longer compatible with our models. Modifying the requirements "
        "file to use v1.4.46 causes the code to run as expected. v1.4.46 was released last month."
    )
    (claim,) = ingest(body)
    assert claim.target == "1.4.46" and claim.range == ">=2.0.0,<3.0.0"
    # a deprecation is not a breakage; a removal runs on
    deprecated = "`Session.query` was deprecated in acme-orm 1.20 and `bulk_insert` raises."
    (pin,) = ingest(deprecated, "Make sure to pin acme-orm to < 2. They removed the old API.")
    assert pin.target == "<2" and pin.range == ">=2"
    # a package written against its version or inside CJK text is still named
    (chinese,) = ingest(
        "安装的版本为acme-orm3.0.1", "解决方法为在requirements中写死acme-orm的版本为2.2.2"
    )
    assert (chinese.target, chinese.library, chinese.range) == (
        "2.2.2",
        "acme-orm",
        ">=3.0.1,<4.0.0",
    )
