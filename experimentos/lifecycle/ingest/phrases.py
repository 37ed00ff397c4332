"""What one clause of a comment says: the advice in it, and whether it negates or retracts.

The vocabulary of advice lives here (imperatives and their lead-ins, "X fixed it", package
manager commands, renames); advice.py walks a thread with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from experimentos.lifecycle.ingest.scope import PRONOUNS, Scope, parse_version
from experimentos.lifecycle.ingest.text import clauses, split_outside_code

Kind = Literal["upgrade", "pin", "flag", "use"]
Found = tuple[Kind, str, str | None]  # kind, subject, target

_NAME = r"@?[A-Za-z][\w.-]*(?:/[\w.-]+)?"
_TARGET = (
    r"v?\d+(?:\.\d+){0,2}(?:\.[xX*])?(?:-?(?:alpha|beta|rc|pre|next|canary|dev|a|b)\.?\d*)?"
    r"(?![\w.]*\d)"
)
_OP = r"(?:[<>]=?|==|!=|~=|\^|~)"
_SPEC = rf"(?:{_OP}\s*)?{_TARGET}(?:\s*,\s*{_OP}\s*{_TARGET})*"
_LATEST = r"(?:the\s+)?(?:latest|newest|next)(?:\s+(?:version|release))?"

# Lead-ins that keep a clause imperative: "Workaround: …", "For now, …", "You should …".
_LEAD_RE = re.compile(
    r"^(?:(?:so|ok|okay|yes|also|and|or|then|alternatively|otherwise|meanwhile|for now|"
    r"in the meantime|as a (?:temporary |quick )?(?:workaround|fix)|workaround|solution|fix|"
    r"tl;?dr|update|edit|fwiw|imo|note)\s*[:,-]?\s+)*"
    r"(?:please\s+|just\s+|simply\s+|"
    r"(?:you|we|they|users?)\s+(?:can|could|should|need\s+to|have\s+to|must|may\s+want\s+to|"
    r"might\s+want\s+to|will\s+(?:need|have)\s+to)\s+(?:just\s+|simply\s+|also\s+)?|"
    r"try\s+(?:to\s+)?|i(?:'d|\s+would)?\s+(?:recommend|suggest)(?:ed)?\s+(?:to\s+)?|"
    r"we\s+(?:recommend|suggest)\s+(?:to\s+)?|the\s+(?:fix|solution|workaround|answer)\s+"
    r"(?:is|was)\s+(?:to\s+)?|make\s+sure\s+(?:to\s+|you\s+)?|consider\s+|"
    r"it(?:'s|\s+is)\s+(?:better|safer|best)\s+to\s+)*",
    re.IGNORECASE,
)
_NEGATION_RE = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|does\s+not|didn'?t|did\s+not|never|shouldn'?t|should\s+not|"
    r"avoid|stop|no\s+need|no\s+longer|not|isn'?t|aren'?t|wasn'?t|won'?t|can'?t|cannot|"
    r"unnecessary|wrong|"
    r"incorrect|bad\s+idea|discouraged|harmful|dangerous|hides?|masks?|breaks?)\b",
    re.IGNORECASE,
)
_RETRACT_RE = re.compile(
    r"\b(?:ignore\s+(?:my|that|the)\s+(?:previous|last|earlier|above)|scratch\s+that|"
    r"my\s+bad|i\s+was\s+wrong|retract|disregard)\b",
    re.IGNORECASE,
)
_NARRATIVE_LEAD = re.compile(
    r"^(?:after|since|when|before|while|because|without|despite|if|once|until)\b", re.I
)
_SUCCESS = (
    r"\b(?:fix(?:es|ed)|solve[sd]|works?|worked|resolve[sd]|helped|helps|"
    r"(?:did|does)\s+the\s+trick|made\s+it\s+work|got\s+it\s+working|is\s+the\s+fix)\b"
)

_LABEL_RE = re.compile(
    r"(?:workaround|solution|fix|the\s+fix|quick\s+fix|try|run|do\s+this|use\s+this|tl;?dr)",
    re.IGNORECASE,
)
_CODE_ONLY_RE = re.compile(r"`[^`]+`")
_WORKED = r"(?:works?|worked|is\s+fixed|was\s+fixed|got\s+fixed|is\s+gone)"
_TOOL_PREFIX_RE = re.compile(
    r"^(?:npm|pnpm|yarn|pip3?|uv(?:\s+pip)?|poetry|bun|python\s+-m\s+pip)\s+", re.IGNORECASE
)
# A package-manager command in a code span: `pip install 'numpy<2'`, `npm i x@1.2.3`.
_INSTALL_CMD_RE = re.compile(
    r"^(?:npm|pnpm|yarn|pip3?|uv\s+pip|poetry|bun|python\s+-m\s+pip)\s+(?:install|add|i)\b"
    r"(?P<args>.*)$",
    re.IGNORECASE,
)
_REQ_RE = re.compile(rf"^(?P<lib>{_NAME}?)(?P<op>==|===|@|<=|>=|<|>|~=|!=|\^|~)(?P<spec>\S+)$")
_UP_VERBS = r"(?:upgrad(?:e|ing)|updat(?:e|ing)|bump(?:ing)?|mov(?:e|ing)\s+to|switch(?:ing)?\s+to)"
_PIN_VERBS = (
    r"(?:pin(?:ning)?|lock(?:ing)?|downgrad(?:e|ing)|roll(?:ing)?\s+back|revert(?:ing)?|"
    r"go(?:ing)?\s+back|stay(?:ing)?|stick(?:ing)?|keep(?:ing)?)"
)
_FLAG_VERBS = (
    r"(?:pass(?:ing)?|add(?:ing)?|us(?:e|ing)|run(?:ning)?|re-?run(?:ning)?|set(?:ting)?|"
    r"append(?:ing)?|install(?:ing)?|call(?:ing)?|invok(?:e|ing)|with|enabl(?:e|ing))"
)
_USE_VERBS = (
    r"(?:us(?:e|ing)|call(?:ing)?|switch(?:ing)?\s+to|migrat(?:e|ing)\s+to|import(?:ing)?|"
    r"replac(?:e|ing)|mov(?:e|ing)\s+to)"
)
_INSTALL_VERBS = r"(?:install(?:ing)?|add(?:ing)?|i)"

_UP_RE = re.compile(
    rf"\b{_UP_VERBS}\s+(?:(?:the\s+)?(?P<lib>{_NAME})\s+)?(?:to\s+|@)\s*(?:version\s+)?"
    rf"(?P<ver>{_TARGET}|{_LATEST})",
    re.IGNORECASE,
)
_UP_AT_RE = re.compile(
    rf"\b{_UP_VERBS}\s+(?P<lib>{_NAME})@(?P<ver>{_TARGET}|latest|next)", re.IGNORECASE
)
_UP_LATEST_RE = re.compile(
    rf"\b{_UP_VERBS}\s+(?:(?:the\s+)?(?P<lib>{_NAME})\s+)?(?:to\s+)?(?P<ver>{_LATEST})\b",
    re.IGNORECASE,
)
_PIN_RE = re.compile(
    rf"\b{_PIN_VERBS}\s+(?:(?:on|with|at|to|back\s+to)\s+)?"
    rf"(?:(?:the\s+)?(?P<lib>{_NAME})(?:\s+(?:to|at|on|with|back\s+to))?\s*(?:@|===?)?\s*)?"
    rf"(?:version\s+)?(?P<spec>{_SPEC})",
    re.IGNORECASE,
)
_INSTALL_RE = re.compile(
    rf"\b{_INSTALL_VERBS}\s+(?:-\S+\s+)*(?P<lib>{_NAME})(?:@|==|===)(?P<ver>{_TARGET})",
    re.IGNORECASE,
)
_FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)(?:=(\S+))?", re.IGNORECASE)
_CODE_RE = re.compile(r"`([^`]+)`")
# "Fixed in drizzle-kit 0.31.2, please upgrade": the upgrade's target is the fixed version.
_FIXED_IN_RE = re.compile(
    rf"\b(?:fixed|resolved|released|landed|shipped|available)\s+(?:in|by|with|since|as\s+of)\s+"
    rf"(?:(?P<lib>{_NAME})\s+)?(?P<ver>{_TARGET})",
    re.IGNORECASE,
)
_IDENT = r"[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)*(?:\(\))?"
_USE_RE = re.compile(
    rf"\b{_USE_VERBS}\s+(?:the\s+)?(?:`(?P<new>[^`]+)`|(?P<bare>{_IDENT}\(\)))"
    rf"(?:\s+(?:method|function|api|option))*"
    rf"(?:\s+(?:instead\s+of|rather\s+than|in\s+place\s+of|over)\s+(?:`(?P<old>[^`]+)`|"
    rf"(?P<oldbare>{_IDENT})))?",
    re.IGNORECASE,
)
_REPLACE_RE = re.compile(
    r"\breplac(?:e|ing)\s+`(?P<old>[^`]+)`\s+(?:with|by)\s+`(?P<new>[^`]+)`", re.IGNORECASE
)
_RENAMED_RE = re.compile(
    r"`(?P<old>[^`]+)`\s+(?:was|has\s+been|is|got|were|have\s+been)\s+(?:now\s+)?"
    r"(?:renamed|moved|replaced)\s+(?:to|by|with|into)\s+`(?P<new>[^`]+)`",
    re.IGNORECASE,
)
_DEPRECATED_USE_RE = re.compile(
    r"`(?P<old>[^`]+)`\s+(?:is|was|has\s+been)\s+(?:deprecated|removed)", re.IGNORECASE
)
# Pieces of a clause: "If you can't upgrade, pin urllib3<2" has a negated and an advice part.
_PIECE_RE = re.compile(r",\s+|:\s+|\s+(?=\b(?:if|unless|until|when|because)\b)", re.IGNORECASE)
_TOOL_RE = re.compile(r"\b(?:to|with|for|in)\s+`?(?P<tool>[a-z][\w.-]*)`?", re.IGNORECASE)


def pieces(sentence: str) -> Iterator[str]:
    """The pieces of a sentence advice is read from, a labelled command made imperative."""
    for clause in clauses(sentence):
        labelled = False
        for piece in split_outside_code(_PIECE_RE, clause):
            piece = piece.strip(" .!")
            if not piece:
                continue
            if _LABEL_RE.fullmatch(piece):
                labelled = True  # "Workaround: `npm install --legacy-peer-deps`"
                continue
            if labelled and _CODE_ONLY_RE.fullmatch(piece):
                piece = _TOOL_PREFIX_RE.sub("", piece.strip("`"))
            labelled = False
            yield piece


def negated(piece: str) -> bool:
    return bool(_NEGATION_RE.search(piece) or _RETRACT_RE.search(piece))


def retracts(text: str) -> bool:
    """ "Ignore my previous comment", "scratch that", …"""
    return bool(_RETRACT_RE.search(text))


def fixed_in(sentence: str, scope: Scope) -> list[tuple[str | None, str]]:
    """(library, version) of every "fixed in …" in a sentence."""
    unquoted = sentence.replace("`", "")
    return [(_lib(m["lib"], scope), m["ver"]) for m in _FIXED_IN_RE.finditer(unquoted)]


def refers_to(kind: Kind, subject: str, target: str | None, text: str) -> bool:
    """Whether a negated clause names this advice (its version, flag, identifier or verb)."""
    low = text.lower().replace("`", "")
    if kind == "flag":
        return subject in low
    if kind == "use":
        return subject.lower().removesuffix("()") in low
    version = (target or "").lower()
    if (
        version
        and version != "latest"
        and re.search(rf"(?<![\w.]){re.escape(version)}(?![\w])", low)
    ):
        return True
    verbs = _PIN_VERBS if kind == "pin" else _UP_VERBS
    return bool(re.search(rf"\b{verbs}", low, re.IGNORECASE))


def slug_part(text: str) -> str:
    """A piece of a slug: lowercase [a-z0-9.-], operators spelled out."""
    for op, word in (
        ("<=", "le"),
        (">=", "ge"),
        ("!=", "ne"),
        ("~=", "compat"),
        ("==", ""),
        ("<", "lt"),
        (">", "gt"),
        ("^", "caret"),
        ("~", "tilde"),
        ("*", "x"),
    ):
        text = text.replace(op, f"-{word}-" if word else "-")
    text = re.sub(r"[^a-z0-9.]+", "-", text.lower().replace("()", ""))
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-.")


def _is_advice(piece: str, verbs: str) -> bool:
    """Whether `piece` tells the reader to do `verbs` (imperative), or reports it worked."""
    rest = _LEAD_RE.sub("", piece, count=1)
    if re.match(rf"{verbs}\b", rest, re.IGNORECASE):
        return True
    if re.search(rf"^(?:it\s+|this\s+)?{_WORKED}\b.*\bafter\s+{verbs}", rest, re.IGNORECASE):
        return True  # "Works for me after downgrading to 1.2.2"
    if _NARRATIVE_LEAD.match(piece):
        return False
    gerund = re.match(rf"(?:\w+\s+)?{verbs}\b(?P<rest>.*)", piece, re.IGNORECASE)
    return bool(
        gerund
        and "ing" in piece[: gerund.end() - len(gerund["rest"])].lower()
        and re.search(_SUCCESS, gerund["rest"], re.IGNORECASE)
    )


def _lib(name: str | None, scope: Scope) -> str | None:
    if name is None or name.lower() in PRONOUNS:
        return scope.library
    return name


def advice_in(
    piece: str, scope: Scope, fixed: list[tuple[str | None, str]]
) -> list[tuple[Kind, str, str | None]]:
    out: list[tuple[Kind, str, str | None]] = []
    plain = piece.replace("`", "")
    if _is_advice(plain, _FLAG_VERBS) and not re.match(r"(?:\w+\s+)?don", plain, re.I):
        for match in _FLAG_RE.finditer(piece):
            out.append(("flag", match.group(1).lower(), _tool_of(piece, match.group(1))))
    if _is_advice(plain, _PIN_VERBS):
        match = _PIN_RE.search(plain)
        lib = _lib(match["lib"], scope) if match else None
        if match and lib:
            out.append(("pin", lib, re.sub(r"\s+", "", match["spec"]).lstrip("v")))
    if _is_advice(plain, _UP_VERBS):
        match = _UP_AT_RE.search(plain) or _UP_RE.search(plain) or _UP_LATEST_RE.search(plain)
        lib = _lib(match["lib"], scope) if match else None
        if match and lib:
            version = match["ver"]
            target = "latest" if re.search(r"latest|newest|next", version, re.I) else version
            out.append(("upgrade", lib, target.lstrip("v")))
        elif match is None and fixed and fixed[0][0]:
            out.append(("upgrade", fixed[0][0], fixed[0][1].lstrip("v")))
    bare = _TOOL_PREFIX_RE.sub("", plain)
    # A bare command opening a sentence is advice only when it is said to work: reports start
    # the same way ("pip install x==1.5.2 on Python 3.13 fails").
    said_to_work = bare == plain or re.search(_SUCCESS, plain, re.IGNORECASE)
    if (
        said_to_work
        and _is_advice(bare, _INSTALL_VERBS)
        and not any(k in ("pin", "upgrade") for k, *_ in out)
    ):
        match = _INSTALL_RE.search(bare)
        lib = _lib(match["lib"], scope) if match else None
        if match and lib:
            out.append((_install_kind(match["ver"], scope), lib, match["ver"].lstrip("v")))
    if not any(k in ("pin", "upgrade") for k, *_ in out) and _is_advice(plain, _FLAG_VERBS):
        out += _install_commands(piece, scope)
    renamed = _RENAMED_RE.search(piece) or _REPLACE_RE.search(piece)
    if renamed:
        out.append(("use", _ident(renamed["new"]), _ident(renamed["old"])))
    elif _is_advice(plain, _USE_VERBS):
        match = _USE_RE.search(piece)
        if match:
            new = match["new"] or match["bare"]
            old = match["old"] or match["oldbare"]
            if not new.lstrip().startswith("-") and not _is_pin_token(new):
                deprecated = _DEPRECATED_USE_RE.search(piece)
                old = old or (deprecated["old"] if deprecated else None)
                out.append(("use", _ident(new), _ident(old) if old else None))
    return out


def _install_commands(piece: str, scope: Scope) -> list[tuple[Kind, str, str | None]]:
    """Pins and upgrades in package-manager commands quoted in an advice clause."""
    out: list[tuple[Kind, str, str | None]] = []
    for code in _CODE_RE.findall(piece):
        command = _INSTALL_CMD_RE.match(code.strip())
        if not command:
            continue
        for token in command["args"].split():
            req = _REQ_RE.match(token.strip("'\""))
            if not req or not req["lib"] or req["lib"].startswith("-"):
                continue
            spec = req["spec"].lstrip("v")
            if req["op"] in ("==", "===", "@") and re.fullmatch(_TARGET, spec):
                out.append((_install_kind(spec, scope), req["lib"], spec))
            elif req["op"] not in ("==", "===", "@"):
                out.append(("pin", req["lib"], f"{req['op']}{spec}"))
    return out


def _install_kind(version: str, scope: Scope) -> Kind:
    """`npm install x@1.2.3` pins when the version is below the affected ones."""
    target = parse_version(version)
    affected = [v for v in (parse_version(a) for a in scope.affected) if v is not None]
    if target is not None and affected and target < min(affected):
        return "pin"
    return "upgrade"


def _is_pin_token(code: str) -> bool:
    return bool(re.fullmatch(rf"{_NAME}(?:@|==)\S+", code.strip()))


def _ident(code: str) -> str:
    """An identifier as written, without call arguments: `foo.bar(x=1)` -> `foo.bar()`."""
    code = code.strip()
    return re.sub(r"\(.*\)$", "()", code) if "(" in code else code


def _tool_of(piece: str, flag: str) -> str | None:
    """The command a flag goes to: the code span holding it, or "to pip" after it."""
    for code in _CODE_RE.findall(piece):
        if flag in code:
            words = [w for w in code.split() if not w.startswith("-")]
            if words and words[0] != flag:
                return words[0].lower()
    after = piece.split(flag, 1)[1] if flag in piece else ""
    match = _TOOL_RE.match(after.strip(" `,"))
    if match and match["tool"].lower() not in ("the", "your", "it", "this", "that"):
        return match["tool"].lower()
    return None


def key_of(kind: Kind, subject: str, target: str | None) -> str:
    if kind == "flag":
        return slug_part(f"flag-{subject}")
    if kind == "use":
        # `Settings.model_validate(raw)` and `model_validate` are the same advice.
        name = re.split(r"\.|::|#", subject.removesuffix("()"))[-1]
        return slug_part(f"use-{name}")
    return slug_part(f"{kind}-{subject}-{target or ''}")
