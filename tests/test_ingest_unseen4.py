"""Issue 24, fourth round of generalisation: classes of advice the reading missed on heldout8's
one blind run (mostly API swaps said in prose), each written here as made-up threads (no thread
of the corpus, no library name from it). heldout8's own figures stay those of its first run."""

from __future__ import annotations

import pytest

from .test_ingest_unseen3 import ESM, found, thread

MISSING = "AttributeError: module 'acme_orm' has no attribute 'bulk_insert'"


def uses(claims) -> set[tuple[str, str | None]]:
    return {
        (c.subject.removesuffix("()"), (c.target or "").removesuffix("()") or None)
        for c in claims
        if c.kind == "use"
    }


@pytest.mark.parametrize(
    "reply",
    [
        # the replaced name said in the sentence before, in quotes
        'The "bulk" package is unsafe, so it is deprecated in acme-orm 2.0. It is replaced by '
        '"bulk_tab".',
        # "the method" for the identifier the sentence before named
        "The [bulk()](https://x.org/a) method of the acme-orm package is legacy starting "
        "acme-orm version 2.\n\nThe method is replaced with the [bulk_tab()](https://x.org/b) "
        "method.",
        "In acme-orm 2 `bulk` is gone. The function was renamed to `bulk_tab`.",
    ],
)
def test_a_replacement_said_of_the_name_the_sentence_before_gave(reply):
    claims = thread(("reporter", None, MISSING), ("u", None, reply))
    assert ("bulk_tab", "bulk") in uses(claims)


def test_pairs_replaced_respectively_are_two_swaps():
    reply = (
        "`to_bulk` and `from_bulk` were removed in 2.0. All internal usages of `to_bulk` and "
        "`from_bulk` were replaced with `to_many` and `from_many` respectively."
    )
    got = uses(thread(("reporter", None, MISSING), ("u", None, reply)))
    assert {("to_many", "to_bulk"), ("from_many", "from_bulk")} <= got


@pytest.mark.parametrize(
    "reply",
    [
        "using acme-orm 2, we should start using insert_many() instead of bulk_insert()",
        "We need to use `insert_many()` instead of `bulk_insert()` now.",
    ],
)
def test_we_should_start_using_x_instead_of_y(reply):
    got = uses(thread(("reporter", None, MISSING), ("u", None, reply)))
    assert ("insert_many", "bulk_insert") in got


def test_a_maintainers_we_should_use_is_the_projects_plan():
    reply = "We should use `insert_many()` instead of `bulk_insert()` in our own tests."
    claims = thread(("reporter", None, MISSING), ("acme", "OWNER", reply))
    assert not [c for c in claims if c.kind == "use"]


def test_a_swap_named_as_the_ident_that_went_away_is_not_a_version():
    claims = thread(("reporter", None, ESM), ("u", None, "It is replaced by 2.1.0."))
    assert not [c for c in claims if c.kind == "use"]
    assert found(claims) <= {("upgrade", "acme-orm", "2.1.0")}


@pytest.mark.parametrize(
    "reply",
    [
        "I've tried to use it but I have had to revert back to 1.4.2 because I've gotten multiple "
        "CORS errors on my chat application.",
        "I have the same issue with version 2.0.2, I have to do the downgrade to version 1.4.2.",
        "If I just downgrade it to 1.4.2, everything is fine.",
        "I'm having the same issue, 1.4.2 also works for server and client",
    ],
)
def test_what_the_speaker_had_to_do_and_what_also_works(reply):
    claims = thread(("reporter", None, ESM), ("u", None, reply))
    assert ("downgrade", "acme-orm", "1.4.2") in found(claims)
    assert {c.subject for c in claims} == {"acme-orm"}  # "why" is no package


def test_a_question_word_before_a_version_is_no_package():
    body = (
        "There are CORS issues when using the current version. I have had to revert back to "
        "1.4.2. I don't really know why 1.4.2 works and this one doesn't."
    )
    claims = thread(("reporter", None, body), title="CORS issue")
    assert {c.subject for c in claims} <= {"acme-orm"}


def test_solutions_the_opening_post_lists_are_advice():
    body = (
        "acme-orm has removed support for anything other than xls files.\n\nSolutions:\n"
        "1. Set requirements.txt to install acme-orm version 1.2 (may expose risks)\n"
        "2. Use openxl-lite"
    )
    claims = thread(("reporter", None, body), title="acme-orm 2.0 removed xlsx")
    got = {(c.kind, c.subject, c.target) for c in claims}
    assert ("use", "openxl-lite", "acme-orm") in got
    assert {("downgrade", "acme-orm", "1.2"), ("pin", "acme-orm", "1.2")} & got


def test_steps_the_opening_post_lists_are_not_advice():
    body = "To reproduce:\n\n1. Use acme-orm 2.0.2\n2. Use node 18\n\nThen it fails."
    assert not thread(("reporter", None, body))


def test_confirming_a_fix_in_parts_endorses_every_part():
    reply = (
        "`to_bulk` and `from_bulk` were removed. Internal usages were replaced with `to_many` "
        "and `from_many` respectively: `to_bulk` and `from_bulk` were replaced with `to_many` "
        "and `from_many` respectively."
    )
    claims = thread(
        ("reporter", None, MISSING),
        ("u", None, reply),
        (
            "acme",
            "OWNER",
            "Thanks! I will close this as resolved as this is indeed the correct solution.",
        ),
    )
    swaps = [c for c in claims if c.kind == "use"]
    assert len(swaps) == 2 and all(c.stance == "endorsed" for c in swaps)


def test_code_a_workaround_label_offers_is_a_workaround():
    reply = (
        "Temporary workaround:\n\n```js\nconst { promisify } = require('util');\n"
        "const orm = promisify(require('acme-orm'));\n```"
    )
    claims = thread(("reporter", None, ESM), ("u", None, reply))
    assert [c for c in claims if c.kind == "workaround" and "promisify" in c.subject]


def test_code_before_a_solution_label_is_not_the_workaround():
    body = "After installing, it shows `No module named 'acme_orm.editor'`, Solution: reinstall it"
    claims = thread(("reporter", None, body))
    assert not [c for c in claims if "No module" in c.subject]


@pytest.mark.parametrize(
    "reply", ["Just don't update to acme-orm@2.", "So just never upgrade to acme-orm 2."]
)
def test_just_dont_update_is_avoidance(reply):
    claims = thread(("reporter", None, ESM), ("u", None, reply))
    assert [c for c in claims if c.kind == "avoid" and c.subject == "acme-orm"]


# --- sentences written one per line, without a full stop ------------------------------------------


def test_a_line_break_before_a_capital_ends_a_sentence():
    reply = (
        "use acme-orm==1.4.2 version\nAcme-orm>=2.0 does not support this package\n"
        "On Mon, Jan 3, 2022 at 5:50 AM someone wrote:"
    )
    assert ("downgrade", "acme-orm", "1.4.2") in found(
        thread(("reporter", None, ESM), ("u", None, reply))
    )


def test_a_soft_wrapped_line_goes_on():
    from experimentos.lifecycle.ingest.text import read_message

    text = (
        "Downgrading to 1.4.2 and\nThen reinstalling fixed it.\nI use the\nFlask app, with\n"
        "No errors."
    )
    assert read_message(text).sentences == [
        "Downgrading to 1.4.2 and Then reinstalling fixed it.",
        "I use the Flask app, with No errors.",
    ]


def test_a_maintainers_bare_published_version_is_an_upgrade():
    claims = thread(
        ("reporter", None, ESM),
        ("acme", "OWNER", "thank you for pr"),
        ("acme", "OWNER", "published `2.0.3`"),
    )
    assert ("upgrade", "acme-orm", "2.0.3") in found(claims)


# --- a hostile comment: thousands of versions on one line ----------------------------------------


def test_a_sentence_without_a_full_stop_is_read_in_bounded_pieces():
    from experimentos.lifecycle.ingest.text import MAX_SENTENCE, read_message

    line = " ".join(f"acme-orm {n}.0.1," for n in range(3000))
    sentences = read_message(line).sentences
    assert max(len(s) for s in sentences) <= MAX_SENTENCE
    assert " ".join(sentences).split() == line.split()  # cut at spaces, nothing lost


def test_prose_advice_is_not_cut():
    from experimentos.lifecycle.ingest.text import read_message

    reply = "Downgrading acme-orm to 1.4.2 " + "really " * 60 + "fixed it for me."
    assert read_message(reply).sentences == [" ".join(reply.split())]
    assert ("downgrade", "acme-orm", "1.4.2") in found(
        thread(("reporter", None, ESM), ("u", None, reply))
    )
