"""What a clause tells the reader to do: the actions in a piece of advice (vocab.py lists the
kinds). Version actions are read in versions.py; flags, API swaps, avoidance and workarounds here.
"""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.lines import Line, line_in
from experimentos.lifecycle.ingest.offered import DIST_TAGS, offered
from experimentos.lifecycle.ingest.versions import (
    candidates,
    install_specs,
    line_spec,
    pick,
    resolve,
    version_actions,
)
from experimentos.lifecycle.ingest.vocab import (
    COMMAND_RE,
    FLAG_VERBS,
    NAME,
    OP,
    UP_VERBS,
    USE_VERBS,
    VER,
    WORK_VERBS,
    Action,
    Context,
    code_spans,
    is_command,
    strip_run,
)
from experimentos.repofacts.facts import python_key

_CONFIG_RE = re.compile(
    r"\bnpm\s+config\s+set\s+(?P<key>[a-z][\w-]*)(?:\s*=\s*|\s+)(?P<value>\S+)", re.I
)


_FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)(?:=(\S+))?", re.IGNORECASE)


# Flags people spell as words: "just use legacy-peer", "with legacy peer deps".
_WORD_FLAGS = [(re.compile(r"\blegacy[- ]peer(?:[- ]deps)?\b", re.I), "--legacy-peer-deps")]


_IDENT = (
    r"(?:[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)+(?:\(\))?|[A-Za-z_$][\w$]*\(\)|"
    r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z][A-Z0-9]{4,}|[a-z]+[A-Z]\w*)"
)


def _x(name: str) -> str:
    """An identifier in backticks, quotes or bare, captured as `name`, `nameq` or `nameb`."""
    return (
        rf"(?:`(?P<{name}>[^`]+)`|'(?P<{name}q>[^'\s]+)'|\"(?P<{name}d>[A-Za-z_$][\w$.]*(?:\(\))?)\"|"
        rf"(?-i:(?P<{name}b>{_IDENT})))"
    )


_USE_RE = re.compile(
    rf"\b{USE_VERBS}\s+(?:the\s+|a\s+|dynamic\s+)?{_x('new')}"
    rf"(?:\s+(?:method|function|api|option|constant|statements?|imports?))*"
    rf"(?:\s+(?:instead\s+of|rather\s+than|in\s+place\s+of|over|to\s+replace)\s+"
    rf"{_x('old')})?",
    re.IGNORECASE,
)


_INSTEAD_RE = re.compile(rf"{_x('new')}\s+instead\s+of\s+{_x('old')}", re.IGNORECASE)


_REPLACE_RE = re.compile(
    rf"\breplac(?:e|ed|ing)\s+{_x('old')}(?:\s+in\s+(?:your\s+|the\s+|my\s+)?\S+(?:\s+file)?)?"
    rf"\s+(?:with|by|to)\s+{_x('new')}"
    rf"|\breplac(?:e|ed|ing)\s+(?:all\s+|every\s+|each\s+)?(?:the\s+)?(?:calls?|uses?|usages?|"
    rf"occurrences?|instances?)(?:\s+(?:to|of)\s+{_x('old4')})?\s+(?:with|by)\s+{_x('new4')}"
    rf"|{_x('old2')}\s+(?:has\s+to\s+be|must\s+be|should\s+be|needs\s+to\s+be|was|"
    rf"has\s+been|is|got|were|have\s+been)\s+(?:now\s+)?(?:renamed|moved|replaced|changed)\s+"
    rf"(?:to|by|with|into)\s+(?:the\s+)?{_x('new2')}"
    rf"|\bchang(?:e|es|ed|ing)\s+{_x('old3')}\s+to\s+(?:use\s+)?{_x('new3')}",
    re.IGNORECASE,
)


_DEPRECATED_USE_RE = re.compile(
    rf"{_x('old')}\s+(?:is|was|has\s+been)\s+(?:deprecated|removed)", re.IGNORECASE
)


_AVOID_RE = re.compile(
    rf"^(?:please\s+)?(?:(?:you\s+)?(?:don'?t|do\s+not|should\s+not|shouldn'?t|never)\s+"
    # "You do not need to update to 4.0 if you have CJS app", "there is no need to upgrade"
    rf"(?:(?:need|have)\s+to\s+)?|(?:there(?:'s|\s+is)\s+)?no\s+need\s+to\s+|avoid\s+)"
    rf"(?P<verb>{UP_VERBS}|(?:re)?install(?:ing)?|us(?:e|ing)|call(?:ing)?|import(?:ing)?)?\b",
    re.IGNORECASE,
)


_WORK_CUE = re.compile(r"\bwork\s*-?\s*around\b", re.IGNORECASE)


def actions_in(piece: str, sentence: str, ctx: Context) -> list[Action]:
    """The actions `piece` (a part of `sentence`) tells the reader to take."""
    out: list[Action] = []
    if re.fullmatch(
        r"(?:update|edit|note|fix|solution|workaround|tl;?dr|ps)\W*", piece.strip(), re.I
    ):
        return out  # a label ("Update: …"), not an instruction
    line = line_of(piece, sentence, ctx)
    out += _flags(piece, sentence, ctx)
    versions = offered(piece, sentence, ctx) or version_actions(piece, sentence, ctx)
    out += versions
    tagged = any(a.target in DIST_TAGS for a in versions)  # "use `next` tag" is no API swap
    if not tagged and (
        not _WORK_CUE.search(sentence) or _REPLACE_RE.search(piece) or _INSTEAD_RE.search(piece)
    ):
        out += _uses(piece, sentence, ctx)
    if not out:
        out += _workaround(piece, sentence)
    return [
        Action(a.kind, a.subject, a.target, line or _below(a, sentence, ctx), a.implied)
        for a in out
    ]


# "Fixed by Black 22.3.0. Versions before that won't work": the line is below the fix
_BEFORE_IT_RE = re.compile(
    r"\b(?:versions?|releases?|anything|everything|ones)\s+(?:before|older\s+than|prior\s+to|"
    r"below|earlier\s+than)\s+(?:that|this|it|them)\b",
    re.IGNORECASE,
)


def _below(action: Action, sentence: str, ctx: Context) -> Line | None:
    """The line of an upgrade whose sentence (or the next) says the versions before it are
    the affected ones."""
    target = action.target or ""
    if action.kind != "upgrade" or not re.fullmatch(r"v?\d+(?:\.\d+)*", target):
        return None
    said = _BEFORE_IT_RE.search(sentence) or _BEFORE_IT_RE.search(ctx.following)
    if not said:
        return None
    own = ctx.library is not None and python_key(action.subject) == python_key(ctx.library)
    return Line(None if own else action.subject, None, target.lstrip("v"), said.group(0))


_LINE_LEAD_RE = re.compile(
    r"^(?:(?:so|and|but|also|then)[,\s]+)?(?:on|for|with|in|if\s+you(?:'re|\s+are)\s+(?:still\s+)?on|"
    r"(?:the\s+)?[vV]?\d+(?:\.[xX*\d]+)*\s+users?)\b[^,:;]{0,40}[,:;]",
    re.IGNORECASE,
)


def line_of(piece: str, sentence: str, ctx: Context) -> Line | None:
    """The release line a piece of a sentence is about: its own, or the sentence's lead."""
    return line_in(piece, ctx.library) or _leading_line(sentence, ctx)


def _leading_line(sentence: str, ctx: Context) -> Line | None:
    """A line set up front for the whole sentence: "On 1.x, call …", "If you are on the 1.x
    line, don't …"."""
    lead = _LINE_LEAD_RE.match(sentence.strip())
    return line_in(lead.group(0), ctx.library) if lead else None


def avoid_in(piece: str, ctx: Context, sentence: str = "") -> list[Action]:
    """ "Don't upgrade a 1.x project to 2.x", "don't use `df.append`": what not to do."""
    rest = re.sub(
        r"^(?:(?:so|and|but|also|please|just|simply|then)[,\s]+)+", "", piece.strip(), flags=re.I
    )
    match = _AVOID_RE.match(rest)
    if not match or not match["verb"]:
        return []
    line = line_in(rest, ctx.library) or _leading_line(sentence, ctx)
    after = rest[match.end() :]
    if re.match(UP_VERBS, match["verb"], re.IGNORECASE) or re.search(rf"\b{VER}\b", after):
        found = [c for c in candidates(after, ctx) if c[2] != "latest"]
        target = pick(found, after, "up")
        if target is None:
            return []
        lib, op, ver = target
        lib = resolve(lib, ctx, announce=False)
        if lib is None:
            return []
        spec = line_spec(ver) if op in (None, "", "@", "=", "==") else f"{op}{ver}"
        return [Action("avoid", lib, spec, line)]
    ident = re.match(rf"\s*(?:the\s+)?{_x('new')}", after)
    if ident:
        name = ident["new"] or ident["newq"] or ident["newb"]
        if name and not is_command(name) and not name.startswith("-"):
            return [Action("avoid", _ident(name), None, line)]
    return []


def _flags(piece: str, sentence: str, ctx: Context) -> list[Action]:
    out: list[Action] = []
    plain = piece.replace("`", "")
    how = phrases.mood(plain, sentence, FLAG_VERBS)
    command_piece = bool(COMMAND_RE.match(strip_run(plain)))
    if how is None and not (command_piece and (ctx.standalone or phrases.succeeded(sentence))):
        return out
    if re.match(r"(?:\w+\s+)?don", plain, re.IGNORECASE):
        return out
    for config in _CONFIG_RE.finditer(plain):
        out.append(Action("flag", config["key"].lower(), "npm"))
    versioned = {c for c in code_spans(piece) if install_specs(c)}
    for match in _FLAG_RE.finditer(piece):
        flag = match.group(1).lower()
        if any(flag in code for code in versioned) or flag in ("--upgrade", "--save", "--save-dev"):
            continue  # part of an install command that names a version: not the advice
        if any(a.subject == flag.lstrip("-") for a in out):
            continue
        out.append(Action("flag", flag, _tool_of(piece, match.group(1))))
    if not out:
        for pattern, flag in _WORD_FLAGS:
            if pattern.search(plain):
                out.append(Action("flag", flag, None))
    return out


def _tool_of(piece: str, flag: str) -> str | None:
    """The command a flag goes to: the code span holding it, or "to pip" after it."""
    for code in code_spans(piece):
        if flag in code:
            words = [w for w in code.split() if not w.startswith("-")]
            if words and words[0] != flag:
                return words[0].lower()
    after = piece.split(flag, 1)[1] if flag in piece else ""
    match = re.match(
        r"\s*`?\s*(?:flag\s+)?(?:to|with|for|in)\s+`?(?P<tool>[a-z][\w.-]*)`?", after, re.I
    )
    if match and match["tool"].lower() not in ("the", "your", "it", "this", "that", "get"):
        return match["tool"].lower()
    return None


_CHANGE_THIS_RE = re.compile(rf"\bchang(?:e|ing)\s+(?:this|it|that)\s+to\s+{_x('new')}", re.I)


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
    rf"{_x('old')}\s+and\s+{_x('old2')}[^.]*?\b(?:replaced|renamed|changed)\s+(?:with|by|to|into)\s+"
    rf"{_x('new')}\s+and\s+{_x('new2')}\s*,?\s+respectively\b",
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
        if before:
            text = _PRONOUN_SWAP_RE.sub(f"`{before[-1]}` was ", text, count=1)
    return text


def _uses(piece: str, sentence: str, ctx: Context | None = None) -> list[Action]:
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
            return [Action("use", _ident(new), _ident(olds[0]))]
    pairs = _RESPECTIVELY_RE.search(plain)
    if pairs:
        olds = [_group_of(pairs, "old"), _group_of(pairs, "old2")]
        news = [_group_of(pairs, "new"), _group_of(pairs, "new2")]
        if all(olds) and all(news):
            pairs_of = zip(news, olds, strict=True)
            return [Action("use", _ident(n), _ident(o)) for n, o in pairs_of]  # type: ignore[arg-type]
    for pattern in (_REPLACE_RE, _INSTEAD_RE):
        match = pattern.search(plain)
        if match:
            new = _group_of(match, "new")
            old = _group_of(match, "old")
            fourth = any(match.groupdict().get(f"new4{x}") for x in ("", "q", "b"))
            if new and old is None and fourth:  # "replacing all calls with np.float64()"
                return [Action("use", _ident(new), None)] if _identish(new) else []
            swap = _swap(new, old, ctx) if new and old and pattern is _REPLACE_RE else None
            if swap is not None:
                return [swap]
            if new and old and _identish(new) and _identish(old):
                if pattern is _INSTEAD_RE and not (
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
                return [Action("use", _ident(new), _ident(old))]
    passive = _USED_INSTEAD_RE.search(plain) or _REPLACEMENT_RE.search(plain)
    if passive and (not ctx or ctx.removed):
        # "`concat()` should be used instead", "The suggested replacement is to use importlib":
        # instead of what the thread says was removed
        new = _group_of(passive, "new")
        old = ctx.removed[0] if ctx else None
        if new and old and _identish(new) and _ident(new) != old:
            return [Action("use", _ident(new), old)]
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
    if re.fullmatch(rf"(?:{NAME})?\s*(?:{OP}|@)\s*{VER}", new.strip()):
        return []
    if not old:
        deprecated = _DEPRECATED_USE_RE.search(plain)
        old = _group_of(deprecated, "old") if deprecated else None
    return [Action("use", _ident(new), _ident(old) if old else None)]


# "`concat()` should be used instead"
_USED_INSTEAD_RE = re.compile(
    rf"{_x('new')}\s+(?:should|must|can|could|has\s+to|needs\s+to)\s+be\s+used"
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
    if re.search(r"\s", code) and not re.fullmatch(r"[\w.$#:]+\([^)]*\)", code):
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


def _ident(code: str) -> str:
    """An identifier as written, without call arguments: `foo.bar(x=1)` -> `foo.bar()`."""
    code = _imported(code).strip()
    return re.sub(r"\(.*\)$", "()", code) if "(" in code else code


# "The solution for me was to include these polyfills as dev dependencies": a workaround in
# words, said as the solution.
_SOLUTION_RE = re.compile(
    r"^(?:the|my|our|a|one)\s+(?:\w+\s+)?(?:fix|solution|workaround)\s+(?:for\s+(?:me|us)\s+)?"
    r"(?:is|was)\s+(?:just\s+|simply\s+)?to\s+(?P<rest>[a-z]+\s+\S.{6,})",
    re.IGNORECASE,
)


# A sentence that offers what follows as the fix: "here is my fix:", "Solution:".
_FIX_LABEL_RE = re.compile(
    r"\b(?:(?:here\s+is|here's|this\s+is)\s+(?:my|the|a)\s+(?:fix|solution|workaround)\b|"
    r"(?:my|the)\s+(?:fix|solution|workaround)\s+(?:is|was)\s*:|(?:solution|fix)\s*:)",
    re.IGNORECASE,
)


def _workaround(piece: str, sentence: str) -> list[Action]:
    codes = code_spans(piece)
    said = _SOLUTION_RE.match(piece.strip())
    if not codes and said and not COMMAND_RE.match(said["rest"]):
        text = " ".join(said["rest"].split())
        return [Action("workaround", text if len(text) <= 160 else text[:159].rstrip() + "…")]
    labelled = _WORK_CUE.search(sentence) or _FIX_LABEL_RE.search(sentence)
    commands = bool(codes) and all(is_command(c) for c in codes)
    if not codes or (commands and not labelled):
        return []
    plain = piece.replace("`", "")
    how = phrases.mood(plain, sentence, WORK_VERBS)
    # "… is to …", "Temporary workaround: `code`" (the label offers the code as the fix)
    cue = (
        labelled
        and (
            re.search(r"\b(?:is|to|:)\b", piece)
            # "Temporary workaround: `code`": a label at the start offers what follows
            or (phrases.offered_as_fix(sentence) and not _FIX_LABEL_RE.search(sentence[1:]))
        )
    )
    if how is None and not cue:
        return []
    if commands and _FIX_LABEL_RE.search(sentence):  # "here is my fix: `npm uninstall x` …"
        return [Action("workaround", "run " + ", ".join(f"`{c}`" for c in codes[:3]))]
    # the instruction itself ("call `session.flush()` before `bulk_insert`"), in short
    text = " ".join(phrases.strip_lead(piece).split())
    text = re.sub(r"\s+as\s+an?\s+(?:temporary\s+)?work\s*-?\s*around\s*$", "", text, flags=re.I)
    return [Action("workaround", text if len(text) <= 160 else text[:159].rstrip() + "…")]
