"""What a version is to the thread, from the words around it (mentions.py finds the versions):
broken (affected), fixed, working (good), or the one to go back to (before). The cues, in the
languages threads are written in, and the checks that keep a question, an instruction or a
pre-release from reporting a broken version."""

from __future__ import annotations

import re
from typing import Literal

from packaging.version import InvalidVersion, Version

from experimentos.lifecycle.ingest.thread import Thread

# Words before a version that say it works: "It's okay to use Gradio in 3.39.0"
GOOD_BEFORE = re.compile(
    r"\b(?:okay|ok|fine|safe|good)\s+to\s+use\s+(?:[\w@/.-]+\s+){0,2}?(?:in|at|with|version)?\s*"
    r"[`'\"]?[vV]?$",
    re.IGNORECASE,
)


# Words after a version that say it is past the problem: "1.6.0 is out", "0.31.2 works".
AFTER_GOOD = re.compile(
    r"^[`\"']?\s*(?:也|就)?(?:可以|可用|能用|没问题|正常)|"
    r"^[`\"']?\s*(?:(?:also|still|too)\s+)?(?:(?:can|could)\s+(?:now\s+)?(?:run|work|start|build)|"
    r"runs\s+(?:fine|ok|now|again)|"
    r"is\s+out|has\s+(?:the\s+fix|them|it|wheels)|works|fixe[sd]\s+it|"
    r"is\s+fine|is\s+released|resolves\s+it|,?\s*(?:which|that)\s+(?:has|includes|contains|"
    r"fixes)|(?:includes|contains)\s+the\s+fix|is\s+the\s+(?:release|version)\s+(?:with|that\s+has|"
    r"that\s+includes|containing)\s+the\s+fix)\b",
    re.IGNORECASE,
)


_STILL = (
    r"still\s+(?:fail\w*|happen\w*|broken|break\w*|an?\s+issue|there|the\s+same|occur\w*|exist\w*|"
    r"present|see\w*|get\w*|have|has|having|facing)"
)


# A range that runs on: "setuptools>=58 breaks", "removed in Pillow 10.0.0", "since 2.1".
OPEN_BEFORE = re.compile(
    r"(?:>=?|=>)\s*[`\"']?\s*$|\b(?:removed|dropped|gone)\s+(?:in|from|since|as\s+of)"
    r"\s+(?:\S+\s+)?$|\b(?:since|starting\s+(?:with|from|in|at)|as\s+of)\s+"
    r"(?:version\s+|\S+\s+)?$",
    re.IGNORECASE,
)


OPEN_AFTER = re.compile(
    r"^[`\"']?\s*(?:\+|and\s+(?:up|above|later|newer|higher)|or\s+(?:later|newer|above|higher)|"
    r"onwards?\b|and\s+on\b|(?:has\s+)?(?:removed|dropped|no\s+longer\s+supports?)\b|"
    r"(?:版本)?(?:中|里|起|开始)?(?:删除|移除|去掉|废弃|不再))",
    re.IGNORECASE,
)


_FAILURE_CUE = re.compile(
    rf"\b(?:fail\w*|broken|breaks|broke|{_STILL}|same|error\w*|regress\w*|reproduc\w*|crash\w*)\b",
    re.IGNORECASE,
)


_FIX_CUE = re.compile(
    r"\b(?:fix(?:ed)?|resolved|solved|released|landed|shipped|available|patched|addressed)"
    r"(?:\s+(?:it|this|that|the\s+(?:issue|bug|problem|error)))?\s+(?:in|by|with|since|as of)\s*"
    r"(?:\S+\s+)?$|"
    r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+)?(?:released|published|tagged|shipped)\s+(?:\S+\s+)?$",
    re.IGNORECASE,
)


_GOOD_CUE = re.compile(
    r"\b(?:works?|worked|working|fine|ok|okay|no (?:issue|problem)s?)\s+(?:\w+\s+)?"
    r"(?:in|on|with|for)\s*(?:\S+\s+)?$|\blast\s+(?:known\s+)?(?:good|working)\s+(?:version\s+)?"
    r"(?:\S+\s+)?(?:is\s+|was\s+)?$",
    re.IGNORECASE,
)


_BACK_CUE = re.compile(
    r"\b(?:downgrad\w*|roll(?:ed|ing)?\s+back|revert\w*|go(?:ing)?\s+back|stay(?:ing)?|"
    r"pin\w*|lock\w*|stick\w*)\s+(?:\S+\s+){0,2}?(?:to|at|on|with|==|@)?\s*(?:\S+\s+)?$",
    re.IGNORECASE,
)


_UP_CUE = re.compile(
    # "move to 2.1" goes forward; "switched x to 2.9.1" says nothing of the way (the versions do)
    r"\b(?:(?:upgrad\w*|updat\w*|bump\w*)\s+(?:\S+\s+){0,2}?|(?:mov\w*|switch\w*)\s+(?:up\s+)?)"
    r"(?:to|@)\s*(?:\S+\s+)?$",
    re.IGNORECASE,
)


_AFFECTED_CUE = re.compile(
    rf"\b(?:same|also|{_STILL}|too|happens|happening|reproduc\w*|broken|breaks|broke|fail\w*|"
    r"affected|affects|seeing|getting|having|regress\w*|occurs|error|problem|issue|"
    r"related\s+to|caused\s+by|due\s+to|because)\b",
    re.IGNORECASE,
)


# "the error can be fixed by …" speaks of the fix, not of a broken version
_CAN_BE_FIXED_RE = re.compile(
    r"\b(?:the\s+|this\s+)?(?:error|issue|problem|bug)\s+(?:can|could|should)\s+be\s+"
    r"(?:fixed|solved|resolved|avoided)\b",
    re.IGNORECASE,
)


_SUCCEEDED_THERE = re.compile(
    r"\b(?:works?|worked|working)\s+(?:just\s+)?(?:fine|well|ok|okay|great)\b|\bno\s+(?:issues?|"
    r"problems?|errors?)\b",
    re.IGNORECASE,
)


_SUCCEEDED = re.compile(
    r"\b(?:solved|fixed|works|worked|resolved)\s+(?:it|this|the)\b|"
    r"\b(?:problem|issue|error|bug)s?\s+(?:(?:is|was|has\s+been|got)\s+)?(?:now\s+)?"
    r"(?:solved|fixed|resolved|gone)\b",
    re.I,
)


# "nothing fixed it", "2.1.0 didn't fix it either": no success
_UNDONE = re.compile(
    r"\b(?:nothing|never|not|no|didn'?t|doesn'?t|hasn'?t|haven'?t|won'?t)\s+(?:\w+\s+)?"
    r"(?:solved|fixed|fix|works?|worked|resolved?|solve|helped|help)\b",
    re.I,
)


def _succeeded(text: str) -> bool:
    """Whether `text` says something worked ("solved it", "problem gone"), not undone."""
    return bool(_SUCCEEDED.search(text)) and not _UNDONE.search(text)


_AFTER_UPGRADE = re.compile(r"\b(?:after|since|when|once)\b", re.IGNORECASE)


Role = Literal["affected", "fixed", "good", "before"]


def parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except (InvalidVersion, ValueError):  # ValueError: a part int() refuses (4,300+ digits)
        return None


_COMMAND_PIECE = re.compile(
    r"^(?:run\s+|e\.g\.?,?\s+|i\.e\.?,?\s+|like\s+|such\s+as\s+)?[!$%]?\s*(?:sudo\s+)?"
    r"(?:npm|pnpm|yarn|pip3?|uv|poetry|bun|conda|python3?\s+-m\s+pip)\s",
    re.IGNORECASE,
)


def advice_role(
    role: Role | None, version: str, sentence: str, opening: bool = False
) -> Role | None:
    """A version an instruction names is not one the thread reports broken ("Use
    Pillow==9.5.0 instead"); one a clause says worked is a good version. In the opening post a
    bare "install X 4.0.2 because …" is the reporter's setup: the version they report."""
    if role not in ("affected", None):
        return role
    from experimentos.lifecycle.ingest import general, phrases
    from experimentos.lifecycle.ingest.vocab import ANY_VERB

    if general.said_to_work(version, sentence, opening):
        return (
            "good"  # "改为`x-2.0.1`即可正常运行", "Volviendo a x 2.9.1 funciona": in any language
        )

    for piece in phrases.pieces(sentence):
        if version not in piece:
            continue
        if _FAILURE_CUE.search(
            _CAN_BE_FIXED_RE.sub(
                "", re.sub(r"\b(?:the|a)\s+broken\s+(?:version|one|release)", "", piece)
            )
        ):
            continue
        plain = piece.replace("`", "")
        if _COMMAND_PIECE.match(plain):
            return None  # "!pip install importlib-metadata==4.13.0": an instruction
        how = phrases.mood(plain, sentence, ANY_VERB)
        if how == "success" or (
            phrases.succeeded(piece) and re.search(rf"(?:==|@)\s*{re.escape(version)}", piece)
        ):
            return "good"
        if how == "directive" or piece.startswith("run "):
            setup = opening and re.match(r"(?:install|use|using|installed)\b", plain.strip(), re.I)
            return role if setup and not phrases.offered_as_fix(sentence) else None
    return role


def checked_role(
    role: Role | None, version: str, sentence: str, before: str, after: str
) -> Role | None:
    """A question asks, it does not report; a pre-release is broken only when it is said so."""
    question = sentence.rstrip(" )").endswith("?")
    parsed = parse_version(version.replace(".x", ".0").replace(".X", ".0"))
    prerelease = parsed is not None and parsed.is_prerelease
    failure = bool(_FAILURE_CUE.search(sentence))
    if question:
        return "affected" if failure and not prerelease else None
    if (
        prerelease
        and role == "affected"
        and not _FAILURE_CUE.search(f"{before[-30:]} {after[:40]}")
    ):
        near = f"{before[-60:]} {after[:60]}".lower()
        return "fixed" if re.search(r"fix|--pre|pre-?release|works|solv", near) else None
    return role


_INSTALLED_CUE = re.compile(
    r"\b(?:you(?:'re|\s+are)|i(?:'m|\s+am)|we(?:'re|\s+are)|i\s+was|we\s+were|you\s+were)\s+"
    r"(?:still\s+)?(?:using|on|running)\s+(?:\S+\s+)?$",
    re.IGNORECASE,
)


# "because your numpy version >=1.24", "my pandas version is 2.0.1"
_YOUR_VERSION_CUE = re.compile(
    r"\b(?:your|my|our)\s+(?:[`'\"]?[\w.-]+[`'\"]?\s+)?version\s*(?:is\s+)?(?:>=?|=>|==?|:)?\s*$",
    re.IGNORECASE,
)


def gone_since(sentence: str, before: str, thread: Thread) -> bool:
    """ "Since v0.26.0 huggingface_hub, `cached_download` has been deprecated" in a thread whose
    title cannot import `cached_download`: the version it went away in."""
    if not re.search(r"(?:^|\b(?:since|as\s+of|starting\s+(?:with|from|in)))\s+$", before, re.I):
        return False
    gone = re.search(
        r"`?(?P<name>[A-Za-z_][\w.]*)`?\s+(?:has|have|was|were|is)\s+(?:been\s+)?"
        r"(?:deprecated|removed)\b",
        sentence,
    )
    if not gone:
        return False
    title = thread.title.lower()
    return "import" in title and gone["name"].split(".")[-1].lower() in title


def role_of(sentence: str, before: str, comment: int, own: str | None = None) -> Role | None:
    """The role of a version from the words `before` it in `sentence`. `own` is the version's
    stretch of the sentence (from the version before it to the one after it): a success said
    there is the version's, one said of another version is not ("Same on 2.0.4, 2.1.0 fixed
    it": 2.0.4 stays broken)."""
    own = sentence if own is None else own
    if re.search(r"\bdeprecated\s+(?:in|since|as\s+of|from)\s+(?:\S+\s+)?$", before, re.I):
        return None  # deprecated is not broken: it still works there, with a warning
    if re.search(
        r"(?:^|\b(?:since|as\s+of|starting\s+(?:with|from|in)))\s+$", before, re.I
    ) and re.search(
        r"\b(?:has|have|was|were|is|are|been)\s+(?:now\s+)?removed\b|\bno\s+longer\s+(?:exists?|available)\b",
        sentence,
        re.I,
    ):
        return "affected"  # "Since v0.26.0 huggingface_hub, `cached_download` has been removed"
    if re.search(
        r"\b(?:requires?|declares?|depends\s+on)\s+\S*$|(?:<=?|\^|~)\s*$|"
        r"\bcompiled\s+(?:using|with|against)\s+\S*\s*$",
        before,
        re.IGNORECASE,
    ):
        return None  # "requires importlib-metadata>=4.4", "urllib3<2": a constraint
    if _INSTALLED_CUE.search(before) or _YOUR_VERSION_CUE.search(before):
        if _SUCCEEDED_THERE.search(sentence) and not _FAILURE_CUE.search(sentence):
            return "good"  # "We're still on 1.9.3 in production, works fine there"
        return "affected"  # "It looks like you're using v0.22.x", "I was on 4.28"
    if _FIX_CUE.search(before):
        return "fixed"
    if _GOOD_CUE.search(before):
        return "good"
    if _BACK_CUE.search(before):
        return "before"
    if _UP_CUE.search(before) and re.search(
        r"\b(?:fix|solve|resolve)\w*\s+(?:\w+\s+)?by\s+\S+ing\b", before, re.IGNORECASE
    ):
        return "fixed"  # "Should be able to fix by updating `uuid` dependency to v9"
    if _UP_CUE.search(before):
        # "After upgrading to 0.31.0, generate breaks" and "I upgraded to 8.0.1 and it still
        # fails" report affected versions; "upgrade to 0.31.2" names a way out.
        # "Just upgraded to 2.1.0, problem gone" names the problem only to say it went away
        gone = _succeeded(own) and not _FAILURE_CUE.search(_SUCCEEDED.sub(" ", own))
        if comment == 0 or _AFTER_UPGRADE.search(before) or _UNDONE.search(own):
            return "affected"  # "Upgrading to 2.1.0 did not help"
        return "affected" if _AFFECTED_CUE.search(sentence) and not gone else "fixed"
    told = _CAN_BE_FIXED_RE.sub("", sentence)
    failed = _AFFECTED_CUE.search(told) or _UNDONE.search(own)  # "2.1.0 didn't fix it either"
    if comment == 0 or (failed and not _succeeded(own)):
        return "affected"  # "solved it here too" is no report of a broken version
    return None
