"""API swaps: one identifier to use instead of another ("use `b()` instead of `a()`", "`a` was
renamed to `b`", "replace `a` with `b`"), and one package for another, said in prose or code."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.vocab import (
    NAME,
    OP,
    USE_VERBS,
    VER,
    Action,
    Context,
    code_spans,
    is_command,
)

_IDENT = (
    r"(?:[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)+(?:\(\))?|[A-Za-z_$][\w$]*\(\)|"
    r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z][A-Z0-9]{4,}|[a-z]+[A-Z]\w*)"
)


def quoted(name: str) -> str:
    """An identifier in backticks, quotes or bare, captured as `name`, `nameq` or `nameb`."""
    return (
        rf"(?:`(?P<{name}>[^`]+)`|'(?P<{name}q>[^'\s]+)'|\"(?P<{name}d>[A-Za-z_$][\w$.]*(?:\(\))?)\"|"
        rf"(?-i:(?P<{name}b>{_IDENT})))"
    )


_USE_RE = re.compile(
    rf"\b{USE_VERBS}\s+(?:the\s+|a\s+|dynamic\s+)?{quoted('new')}"
    rf"(?:\s+(?:method|function|api|option|constant|statements?|imports?))*"
    rf"(?:\s+(?:instead\s+of|rather\s+than|in\s+place\s+of|over|to\s+replace)\s+"
    rf"{quoted('old')})?",
    re.IGNORECASE,
)


INSTEAD_RE = re.compile(rf"{quoted('new')}\s+instead\s+of\s+{quoted('old')}", re.IGNORECASE)


REPLACE_RE = re.compile(
    # "Replacing the import line `a` in this file, with `b`", "replace the import of `a` in x.py"
    rf"\breplac(?:e|ed|ing)\s+(?:the\s+(?:import\s+|call\s+)?(?:lines?|imports?|calls?|"
    rf"statements?|usages?)\s+(?:of\s+)?)?{quoted('old')}"
    rf"(?:\s+in\s+(?:your\s+|the\s+|my\s+|this\s+)?[^\s,`]+(?:\s+(?:file|code))?)?,?"
    rf"\s+(?:with|by|to)\s+{quoted('new')}"
    rf"|\breplac(?:e|ed|ing)\s+(?:all\s+|every\s+|each\s+)?(?:the\s+)?(?:calls?|uses?|usages?|"
    rf"occurrences?|instances?)(?:\s+(?:to|of)\s+{quoted('old4')})?\s+(?:with|by)\s+{quoted('new4')}"
    rf"|{quoted('old2')}\s+(?:has\s+to\s+be|must\s+be|should\s+be|needs\s+to\s+be|was|"
    rf"has\s+been|is|got|were|have\s+been)\s+(?:now\s+)?(?:renamed|moved|replaced|changed|"
    # "`Listener` has been merged into `Client`", "… has been modified to …"
    rf"modified|merged|folded)\s+(?:to|by|with|into)\s+(?:the\s+)?{quoted('new2')}"
    rf"|\bchang(?:e|es|ed|ing)\s+{quoted('old3')}\s+to\s+(?:use\s+)?{quoted('new3')}",
    re.IGNORECASE,
)


_DEPRECATED_USE_RE = re.compile(
    rf"{quoted('old')}\s+(?:is|was|has\s+been)\s+(?:deprecated|removed|gone)", re.IGNORECASE
)


_CHANGE_THIS_RE = re.compile(rf"\bchang(?:e|ing)\s+(?:this|it|that)\s+to\s+{quoted('new')}", re.I)


_PACKAGE_NAME_RE = re.compile(r"@?[a-z][a-z0-9._-]*(?:/[a-z0-9._-]+)?")
_DEPENDENCY_RE = re.compile(r"^[\"'](?P<name>@?[\w./-]+)[\"']\s*:\s*[\"'][^\"']*[\"'],?$")


def _swap(new: str, old: str, ctx: Context | None) -> Action | None:
    """One package for another ("replace node-sass with sass", "\"sass\": \"^1.32.12\""): a
    workaround, not an API to use."""
    dependency = _DEPENDENCY_RE.match(new.strip())
    name = dependency["name"] if dependency else new.strip()
    library = (ctx.library or "").lower() if ctx else ""
    if not (_PACKAGE_NAME_RE.fullmatch(name) and _PACKAGE_NAME_RE.fullmatch(old.strip())):
        return None
    if dependency or old.strip().lower() == library or re.search(r"[-/@]", old + name):
        return Action("workaround", f"replace {old.strip()} with {name}")
    return None


_REPLACE_PACKAGE_RE = re.compile(
    r"\b(?:replac(?:e|ed|ing)|swap(?:ped|ping)?)\s+[`'\"]?(?P<old>@?[a-z][\w.-]*(?:/[\w.-]+)?)[`'\"]?"
    r"(?:\s+in\s+(?:your\s+|the\s+|my\s+)?\S+(?:\s+file)?)?\s+(?:with|by|for)\s+"
    r"(?P<new>`[^`]+`|[\"']?@?[a-z][\w.-]*(?:/[\w.-]+)?[\"']?)",
    re.IGNORECASE,
)


_JSX_RE = re.compile(r"`?<\s*(?P<name>[A-Z][\w.]*)\s*/?>`?")
_PRONOUN_SWAP_RE = re.compile(
    r"^(?:it|this|that|they|the\s+(?:method|function|class|module|package|api|call|option|"
    r"attribute|property|hook|component|setting|resource))\s+(?:got|was|were|has\s+been|"
    r"have\s+been|is|are)\s+(?:now\s+)?(?=replaced|renamed|moved|changed)",
    re.IGNORECASE,
)
# "`to_x` and `from_x` were replaced with `to_y` and `from_y` respectively": two swaps
_RESPECTIVELY_RE = re.compile(
    rf"{quoted('old')}\s+and\s+{quoted('old2')}[^.]*?\b(?:replaced|renamed|changed)\s+(?:with|by|to|into)\s+"
    rf"{quoted('new')}\s+and\s+{quoted('new2')}\s*,?\s+respectively\b",
    re.IGNORECASE,
)


def marked(piece: str, ctx: Context | None) -> str:
    """A piece with the identifiers it names set in backticks: a JSX component ("<Routes />"),
    a bare name the thread shows as code elsewhere ("Switch" after "'Switch' is not
    exported"), and "it" in "It got replaced by …" as the identifier of the sentence before."""
    text = _JSX_RE.sub(lambda m: f"`{m['name']}`", piece)
    if ctx is None:
        return text
    for word in sorted(ctx.idents, key=len, reverse=True):
        if re.fullmatch(r"[A-Z][A-Za-z0-9_]{2,40}", word):
            text = re.sub(rf"(?<![`\w]){re.escape(word)}(?![`\w])", f"`{word}`", text)
    # "replace `Switch` to Routes": what replaces a named identifier is one too
    text = re.sub(
        r"(\breplac\w*\s+`[^`]+`\s+(?:with|by|to)\s+)([A-Z][A-Za-z0-9_]{2,40})\b", r"\1`\2`", text
    )
    if _PRONOUN_SWAP_RE.match(text):
        previous = _JSX_RE.sub(lambda m: f"`{m['name']}`", ctx.previous)
        # what the sentence before named: in backticks, in double quotes, or an identifier
        before = (
            code_spans(previous)
            or re.findall(r"\"([A-Za-z_$][\w$.]*(?:\(\))?)\"", previous)
            or re.findall(rf"(?-i:{_IDENT})", previous)
        )
        # else what the thread says is missing ("has no attribute 'insert'")
        before = before or list(ctx.removed[:1])
        if before:
            text = _PRONOUN_SWAP_RE.sub(f"`{before[-1]}` was ", text, count=1)
    return text


def uses(piece: str, sentence: str, ctx: Context | None = None) -> list[Action]:
    plain = marked(piece, ctx).replace("\u2019", "'")
    package = _REPLACE_PACKAGE_RE.search(plain)
    if package:
        swap = _swap(package["new"].strip("`'\""), package["old"], ctx)
        if package["new"].startswith("`"):
            swap = _swap(package["new"].strip("`"), package["old"], ctx) or swap
        if swap is not None:
            return [swap]
    change = _CHANGE_THIS_RE.search(plain)
    if change:  # "Find ANTIALIAS in …, and change this to LANCZOS"
        new = _group_of(change, "new")
        olds = re.findall(
            rf"(?-i:{_IDENT})", sentence[: sentence.find(piece)] if piece in sentence else ""
        )
        if new and _identish(new) and olds:
            return [Action("use", ident(new), ident(olds[0]))]
    pairs = _RESPECTIVELY_RE.search(plain)
    if pairs:
        olds = [_group_of(pairs, "old"), _group_of(pairs, "old2")]
        news = [_group_of(pairs, "new"), _group_of(pairs, "new2")]
        if all(olds) and all(news):
            pairs_of = zip(news, olds, strict=True)
            return [Action("use", ident(n), ident(o)) for n, o in pairs_of]  # type: ignore[arg-type]
    for pattern in (REPLACE_RE, INSTEAD_RE):
        match = pattern.search(plain)
        if (
            not match
            and pattern is REPLACE_RE
            and re.match(r"\W*(?:\w+\s+){0,4}replac", plain, re.I)
        ):
            # "Replacing `a` in this file, with `b`": the comma cut the piece, not the act
            match = pattern.search(marked(sentence, ctx).replace("\u2019", "'"))
        if match:
            new = _group_of(match, "new")
            old = _group_of(match, "old")
            fourth = any(match.groupdict().get(f"new4{x}") for x in ("", "q", "b"))
            if new and old is None and fourth:  # "replacing all calls with np.float64()"
                return [Action("use", ident(new), None)] if _identish(new) else []
            swap = _swap(new, old, ctx) if new and old and pattern is REPLACE_RE else None
            if swap is not None:
                return [swap]
            if new and old and _identish(new) and _identish(old):
                if pattern is INSTEAD_RE and not (
                    phrases.succeeded(sentence)
                    or phrases.mood(plain, sentence, USE_VERBS)
                    or re.search(r"\bwould\s+be\b", plain, re.I)
                    # "using React 18, we should start using createRoot() instead of render()"
                    or (
                        re.search(
                            r"\b(?:should|need\s+to|must|have\s+to)\s+(?:start\s+)?using\b",
                            plain,
                            re.I,
                        )
                        and not (ctx and ctx.maintainer and phrases.project_plan(plain))
                    )
                ):
                    continue
                return [Action("use", ident(new), ident(old))]
    passive = _USED_INSTEAD_RE.search(plain) or _REPLACEMENT_RE.search(plain)
    if passive and (not ctx or ctx.removed):
        # "`concat()` should be used instead", "The suggested replacement is to use importlib":
        # instead of what the thread says was removed
        new = _group_of(passive, "new")
        old = ctx.removed[0] if ctx else None
        if new and old and _identish(new) and ident(new) != old:
            return [Action("use", ident(new), old)]
    if not phrases.mood(plain, sentence, USE_VERBS):
        return []
    match = _USE_RE.search(plain)
    instead = bool(ctx and ctx.removed and re.search(r"\binstead\b(?!\s+of)", sentence, re.I))
    if not match and instead:
        # "You need to use [concat](…) instead": a bare word is the API here
        match = re.search(
            rf"\b{USE_VERBS}\s+(?:the\s+)?(?P<newb>[A-Za-z_][\w.]*(?:\(\))?)\s*$", plain
        )
    if not match:
        return []
    new = _group_of(match, "new")
    old = _group_of(match, "old")
    if not old and instead and ctx:
        old = ctx.removed[0]  # "You need to use concat instead": of what was removed
    if not new or not _identish(new) or is_command(new) or re.match(rf"{NAME}@", new):
        return []
    if re.match(r"replac", match.group(0), re.IGNORECASE) and not old:
        return []  # "replace X" names what goes, not what to use
    if (
        not old
        and re.match(r"call", match.group(0), re.IGNORECASE)
        and (_STEP_RE.match(plain[match.end() :]) or re.search(r"\binstead\b", sentence, re.I))
    ):
        # "call `session.flush()` before `bulk_insert` (instead)": a call to make, nothing
        # replaced; a workaround ("call `createPool()` to get the pool" names an API to use)
        return []
    if re.fullmatch(rf"(?:{NAME})?\s*(?:{OP}|@)\s*{VER}", new.strip()):
        return []
    if not old:
        deprecated = _DEPRECATED_USE_RE.search(plain)
        old = _group_of(deprecated, "old") if deprecated else None
    return [Action("use", ident(new), ident(old) if old else None)]


_STEP_RE = re.compile(r"\s*(?:first|beforehand|before|after|prior\s+to|then)\b", re.IGNORECASE)
# "`concat()` should be used instead"
_USED_INSTEAD_RE = re.compile(
    rf"{quoted('new')}\s+(?:should|must|can|could|has\s+to|needs\s+to)\s+be\s+used"
    r"(?:\s+instead)?\b",
    re.IGNORECASE,
)
# "The suggested replacement is to use importlib", "the replacement is `numpy.triu`"
_REPLACEMENT_RE = re.compile(
    r"\breplacement\s+(?:is|would\s+be|was)\s+(?:to\s+use\s+|using\s+)?(?:the\s+)?"
    r"(?:`(?P<new>[^`]+)`|(?P<newb>[A-Za-z_][\w.]*(?:\(\))?))",
    re.IGNORECASE,
)


def _group_of(match: re.Match[str], name: str) -> str | None:
    for suffix in ("", "q", "d", "b"):
        for n in (name, f"{name}2", f"{name}3", f"{name}4"):
            key = f"{n}{suffix}"
            if key in match.re.groupindex and match[key]:
                return match[key]
    return None


def _identish(code: str) -> bool:
    code = _imported(code).strip()
    if not code or len(code) > 80 or re.search(r"[{};=]|\s{2,}", code):
        return False
    # "await import()", "new Pool()": a call with its keyword
    if re.search(r"\s", code) and not re.fullmatch(r"(?:await\s+|new\s+)?[\w.$#:]+\([^)]*\)", code):
        return False
    return not re.fullmatch(r"--?[\w-]+", code)


_IMPORT_RE = re.compile(
    r"^(?:from\s+(?P<mod>[\w.]+)\s+import\s+(?P<what>\w+)|import\s+(?P<only>[\w.]+))"
    r"(?:\s+as\s+\w+)?$"
)


def _imported(code: str) -> str:
    """What an import statement brings in: `import importlib as imp` -> importlib,
    `from a import b` -> a.b; any other code as it is."""
    match = _IMPORT_RE.match(code.strip())
    if not match:
        return code
    return match["only"] or f"{match['mod']}.{match['what']}"


def ident(code: str) -> str:
    """An identifier as written, without call arguments: `foo.bar(x=1)` -> `foo.bar()`."""
    code = _imported(code).strip()
    return re.sub(r"\(.*\)$", "()", code) if "(" in code else code
