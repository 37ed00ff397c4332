"""What a clause tells the reader to do: the actions in a piece of advice (vocab.py lists the
kinds). Version actions are read in versions.py, API swaps in swaps.py; flags, avoidance and
workarounds here.
"""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.held import there_line
from experimentos.lifecycle.ingest.lines import Line, line_in
from experimentos.lifecycle.ingest.newer import newer
from experimentos.lifecycle.ingest.offered import DIST_TAGS, offered
from experimentos.lifecycle.ingest.swaps import INSTEAD_RE, REPLACE_RE, ident, quoted, uses
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
    UP_VERBS,
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


# "do not move a 1.x app to 2.x", "don't jump to 2.x", "don't migrate your 1.x service to 2.x":
# a verb that takes something (a few words) to a version; never back ("don't move back to 1.x").
# "go" takes nothing: "to" comes right after it or after one particle ("go up to 2.x"), else
# "I wouldn't go so far as to call 2.1.0 a fix" would be a move
_MOVE_VERBS = (
    r"(?:(?:mov(?:e|ing)|switch(?:ing)?|migrat(?:e|ing)|jump(?:ing)?|port(?:ing)?|bump(?:ing)?)"
    r"(?=\s+(?!back\b|down\b)(?:[\w.'-]+\s+){0,4}?(?:up\s+|over\s+)?to\s)|"
    r"go(?:ing)?(?=\s+(?:(?:up|over|on|straight|right|directly|forward|ahead)\s+)?to\s))"
)
_AVOID_RE = re.compile(
    rf"^(?:please\s+)?(?:(?:you\s+)?(?:don'?t|do\s+not|should\s+not|shouldn'?t|never)\s+"
    # "You do not need to update to 4.0 if you have CJS app", "there is no need to upgrade"
    rf"(?:(?:need|have)\s+to\s+)?|(?:there(?:'s|\s+is)\s+)?no\s+need\s+to\s+|avoid\s+|"
    # "we advise against upgrading", "I'd recommend against", "better not upgrade", "I wouldn't"
    rf"(?:(?:i|we)(?:'d|\s+would)?\s+)?(?:(?:strongly|really)\s+)?(?:advise|recommend|suggest|"
    rf"caution|warn)\s+against\s+|(?:(?:you|you'd|it'?s|it\s+is|it\s+would\s+be)\s+)?(?:had\s+)?"
    rf"better\s+not\s+(?:to\s+)?|(?:i|we)\s+(?:wouldn'?t|would\s+not)\s+)"
    rf"(?P<verb>{UP_VERBS}|{_MOVE_VERBS}|(?:re)?install(?:ing)?|us(?:e|ing)|call(?:ing)?|"
    rf"import(?:ing)?)?\b",
    re.IGNORECASE,
)
# "upgrading to 2.x is not recommended", "moving to 8.x is discouraged": the act, then the verdict,
# in one clause ("upgrading to 2.1.0 fixed it and the old workaround is not recommended" judges
# the workaround)
_AVOID_AFTER_RE = re.compile(
    rf"^(?P<verb>{UP_VERBS}|installing|using)\b(?P<what>(?:(?![,;]|\s(?:and|but)\s).)+?)\s+"
    rf"(?:is|are|would\s+be)\s+"
    rf"(?:(?:really|strongly|generally)\s+)?(?:not\s+(?:recommended|advised|advisable|"
    rf"a\s+good\s+idea|safe)|discouraged|a\s+bad\s+idea|risky|unsafe)\b",
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
    versions = (
        offered(piece, sentence, ctx)
        or version_actions(piece, sentence, ctx)
        or newer(piece, sentence, ctx)
    )
    out += versions
    tagged = any(a.target in DIST_TAGS for a in versions)  # "use `next` tag" is no API swap
    if not tagged and (
        not _WORK_CUE.search(sentence) or REPLACE_RE.search(piece) or INSTEAD_RE.search(piece)
    ):
        out += uses(piece, sentence, ctx)
    if not out:
        out += _workaround(piece, sentence)
    elif versions:
        # "stay on 1.x and call `x()` there": a step joined to the version's act by "and"
        joined = re.search(rf"\s+and\s+(?:then\s+)?(?={WORK_VERBS}\b.*`)", piece, re.I)
        step = piece[joined.end() :] if joined else ""
        there = there_line(step, sentence, ctx.library) if step else None
        out += [Action(a.kind, a.subject, a.target, there) for a in _workaround(step, sentence)]
    return [
        Action(a.kind, a.subject, a.target, line or a.line or _below(a, sentence, ctx), a.implied)
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
    # a label may name the line: "Workaround on 5.x: call …", "Fix for the 1.x line: …"
    r"^(?:(?:so|and|but|also|then)[,\s]+)?(?:(?:(?:a|the|my)\s+)?(?:temporary\s+|quick\s+)?"
    r"(?:work\s*-?\s*around|fix|solution|advice|tip|note)s?\s+(?=on\b|for\b|in\b))?(?:on|for|with|in|if\s+you(?:'re|\s+are)\s+(?:still\s+)?on|"
    r"(?:the\s+)?[vV]?\d+(?:\.[xX*\d]+)*\s+users?)\b[^,:;]{0,40}[,:;]",
    re.IGNORECASE,
)


def line_of(piece: str, sentence: str, ctx: Context) -> Line | None:
    """The release line a piece of a sentence is about: its own, the line "there" points back
    to, or the sentence's lead."""
    return (
        line_in(piece, ctx.library)
        or there_line(piece, sentence, ctx.library)
        or _clause_line(piece, sentence, ctx)
    )


def _clause_line(piece: str, sentence: str, ctx: Context) -> Line | None:
    """The line set just before `piece`, at the head of its clause ("…; for 1.x, call …"),
    else at the head of the sentence."""
    at = sentence.find(piece)
    head = re.search(
        rf"(?:^|[;:]\s*)(?P<lead>{phrases.LINE_LEAD})\s*[,:]?\s*$",
        sentence[:at] if at > 0 else "",
        re.IGNORECASE,
    )
    if head:
        return line_in(head["lead"], ctx.library)
    return _leading_line(sentence, ctx)


def _leading_line(sentence: str, ctx: Context) -> Line | None:
    """A line set up front for the whole sentence: "On 1.x, call …", "If you are on the 1.x
    line, don't …"."""
    lead = _LINE_LEAD_RE.match(sentence.strip()) or re.match(
        # … or by its first words, with no comma after them: "For 1.x projects we advise …"
        rf"(?:(?:so|and|but|also|then)[,\s]+)?(?:{phrases.LINE_LEAD})(?![\w.])",
        sentence.strip(),
        re.IGNORECASE,
    )
    return line_in(lead.group(0), ctx.library) if lead else None


_CARRIED = ("avoid", "workaround")


def carried_line(given: list) -> Line | None:
    """The line a sentence's advice was given for, when all of it is a workaround or an
    avoidance for one line ("Workaround for 1.x users: call …"): the next sentence's
    workaround or avoidance naming no line of its own ("Please don't upgrade them to 2.x")
    is for the same users."""
    lines = {a.line for a in given if a.kind in _CARRIED}
    if len(lines) != 1 or any(a.kind not in _CARRIED for a in given):
        return None
    return next(iter(lines))


def carry(action: Action, line: Line | None) -> Action:
    """`action` with the line carried from the sentence before, if it names none."""
    if line is None or action.line is not None or action.kind not in _CARRIED:
        return action
    return Action(action.kind, action.subject, action.target, line, action.implied)


def avoid_in(piece: str, ctx: Context, sentence: str = "") -> list[Action]:
    """ "Don't upgrade a 1.x project to 2.x", "don't use `df.append`": what not to do."""
    rest = re.sub(
        r"^(?:(?:so|and|but|also|please|just|simply|then)[,\s]+)+", "", piece.strip(), flags=re.I
    )
    line = line_in(rest, ctx.library) or _leading_line(sentence, ctx)
    # "On the 1.x line don't upgrade to 2.x": the line set before the verb scopes it
    rest = re.sub(rf"^(?:{phrases.LINE_LEAD})\s*[,:]?\s*", "", rest, flags=re.I)
    match = _AVOID_RE.match(rest) or _AVOID_AFTER_RE.match(rest)
    if not match or not match["verb"]:
        return []
    after = match.groupdict().get("what") or rest[match.end() :]
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
    named = re.match(rf"\s*(?:the\s+)?{quoted('new')}", after)
    if named:
        name = named["new"] or named["newq"] or named["newb"]
        if name and not is_command(name) and not name.startswith("-"):
            return [Action("avoid", ident(name), None, line)]
    return []


# An environment variable set for a command: `AWS_X_SUPPRESS=1 node app.js`, `DEBUG=acme`
_ENV_SET_RE = re.compile(r"^(?:export\s+|set\s+)?(?P<var>[A-Z][A-Z0-9_]{2,}=\S+)")
_ENV_WORDS_RE = re.compile(r"\benv(?:ironment)?(?:\s*var(?:iable)?s?)?\b", re.IGNORECASE)
# "you need to enable the enableRemoteModule option", "turn on the `keepAlive` setting"
_OPTION_RE = re.compile(
    r"\b(?i:enabl(?:e|ing)|turn(?:ing)?\s+on|activat(?:e|ing)|switch(?:ing)?\s+on)\s+(?i:the\s+)?"
    r"(?:`(?P<code>[A-Za-z_][\w.]*)`|(?P<name>[a-z]+[A-Z]\w*|[A-Za-z]+_\w+))\s+"
    r"(?i:option|setting|flag|preference)\b",
)


def _settings(piece: str, sentence: str, how: str | None, ctx: Context) -> list[Action]:
    """Environment variables set for a command and named options turned on, given as the fix."""
    out: list[Action] = []
    # set as the fix ("by setting this env variable", "… silences it"), not asked for as a
    # way to see more ("A log with `DEBUG="*"` would help")
    said = (
        _ENV_WORDS_RE.search(sentence)
        or phrases.succeeded(sentence)
        or re.search(
            r"\b(?:set|setting|export\w*|suppress\w*|silenc\w*|disabl\w*)\b", sentence, re.I
        )
    ) and not re.search(r"\blogs?\b|\boutput\b|\bverbose\b", sentence, re.I)
    for code in code_spans(piece):
        env = _ENV_SET_RE.match(code.strip())
        if env and said and not phrases.failed(sentence):
            out.append(Action("flag", env["var"], None))
    option = _OPTION_RE.search(piece)
    if option and how is not None:
        out.append(Action("flag", option["code"] or option["name"], None))
    return out


def _flags(piece: str, sentence: str, ctx: Context) -> list[Action]:
    out: list[Action] = []
    plain = piece.replace("`", "")
    how = phrases.mood(plain, sentence, FLAG_VERBS)
    settings = _settings(piece, sentence, how, ctx)
    if settings:
        return settings
    command_piece = bool(COMMAND_RE.match(strip_run(plain)))
    if how is None and _offers_flag(piece, sentence):
        how = "directive"
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


# A flag offered as the way to get something, whatever the verb of the sentence: "You can get
# 2.1.0rc2 by passing `--pre` to pip", "You get the fix by adding `--pre`", "Try `--pre`: …"
_OFFERED_FLAG_RE = re.compile(
    r"\bby\s+(?:passing|adding|using|setting|appending|specifying|including|"
    r"running\s+(?:it\s+|pip\s+|npm\s+)?with)\s+(?:the\s+)?`?--[a-z]|"
    r"^\W*(?:(?:you\s+(?:can|could|should|may|might)\s+)?(?:also\s+|just\s+)?try|maybe\s+try)\s+"
    r"(?:(?:with|using|adding|passing)\s+)?(?:the\s+)?`?--[a-z]",
    re.IGNORECASE,
)
_NARRATED_RE = re.compile(r"^\W*(?:when|after|while|since|before|once|because)\b", re.IGNORECASE)


def _offers_flag(piece: str, sentence: str) -> bool:
    """Whether `piece` offers a flag (not a narration of one that failed)."""
    return (
        bool(_OFFERED_FLAG_RE.search(piece))
        and not phrases.failed(sentence)
        and not _NARRATED_RE.match(sentence)
    )


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


# "Projects can depend on `x` directly", "add `x` as an explicit dependency": install it
_DEPEND_RE = re.compile(
    r"\b(?:depend(?:s|ing)?\s+(?:directly\s+)?on|add(?:ing)?)\s+`(?P<pkg>[A-Za-z][\w.\[\],-]*)`"
    # "depend on `x[extra]` or on `x_extra` directly": alternatives of one install
    r"(?P<alt>(?:\s+or\s+(?:on\s+)?`[A-Za-z][\w.\[\],-]*`)*)"
    r"(?:\s+(?:directly|explicitly|instead)|\s+as\s+an?\s+(?:explicit\s+|direct\s+)?dependency)",
    re.IGNORECASE,
)
_FIX_NOUN_RE = re.compile(r"\b(?:fix|solution|work\s*-?\s*around|remedy)\b", re.IGNORECASE)


def _installed(codes: list[str]) -> list[str]:
    """The packages install commands name without a version (`pip install x y`), or []."""
    names: list[str] = []
    for code in codes:
        match = COMMAND_RE.match(strip_run(code))
        if not match or match["verb"].lower() not in ("install", "add", "i"):
            return []
        args = [a for a in match["args"].split() if not a.startswith("-")]
        if not args or any(re.search(r"[<>=@~^]|\d", a.lstrip("@")) for a in args):
            return []  # a version moves a package: versions.py reads it
        names += args
    return names


def _install_workaround(piece: str, sentence: str, codes: list[str]) -> list[Action]:
    """An install offered as the fix ("`pip install x` is a better workaround", "Projects can
    depend on `x` directly"): install advice, whatever the sentence around it says."""
    if phrases.failed(sentence) or phrases.is_question(sentence):
        return []
    names = _installed(codes) if codes and _FIX_NOUN_RE.search(sentence) else []
    if not names:
        depend = _DEPEND_RE.search(piece.replace("\u2019", "'"))
        if (
            depend is None
            or phrases.mood(piece, sentence, WORK_VERBS) is None
            and not re.search(
                r"\b(?:can|could|should|need\s+to|must)\s+(?:(?:either|also|just)\s+)?depend",
                piece,
                re.I,
            )
        ):
            return []
        alternatives = [depend["pkg"], *re.findall(r"`([^`]+)`", depend["alt"])]
        return [Action("workaround", "install " + " or ".join(alternatives))]
    return [Action("workaround", "install " + " ".join(names))]


# "calling `x()` before `y` works around it", "setting `z` is a workaround": the step as a
# gerund, then what it does for the bug
_GERUND_FIX_RE = re.compile(
    r"^(?P<verb>[a-z]+ing)\s+(?P<step>.*`.*?)\s+(?:works?\s+around|gets?\s+around|"
    r"is\s+(?:a|the|one|an)\s+(?:[\w-]+\s+)?(?:work\s*-?\s*around|fix|solution)|avoids|"
    r"prevents|fixes|solves|resolves)\b",
    re.IGNORECASE,
)


def _gerund_step(piece: str, sentence: str) -> str | None:
    """The step of "calling `x()` before `y` works around it", as an instruction."""
    said = _GERUND_FIX_RE.match(phrases.strip_lead(piece).strip())
    if not said or phrases.failed(sentence) or phrases.negated(piece):
        return None
    stem = said["verb"][:-3].lower()
    for base in (stem, stem + "e", stem[:-1]):  # call, use, set
        if re.fullmatch(WORK_VERBS, base, re.IGNORECASE):
            return " ".join(f"{base} {said['step']}".split())
    return None


def _workaround(piece: str, sentence: str) -> list[Action]:
    codes = code_spans(piece)
    offered = _install_workaround(piece, sentence, codes)
    if offered:
        return offered
    step = _gerund_step(piece, sentence)
    if step:
        return [Action("workaround", step if len(step) <= 160 else step[:159].rstrip() + "…")]
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
    text = re.sub(
        # "… as a workaround (on 1.x)", "… there": the line is the claim's scope, not the step
        rf"(?:\s+(?:as\s+an?\s+(?:temporary\s+)?work\s*-?\s*around|there|{phrases.LINE_LEAD}))+"
        rf"\s*$",
        "",
        text,
        flags=re.I,
    )
    return [Action("workaround", text if len(text) <= 160 else text[:159].rstrip() + "…")]
