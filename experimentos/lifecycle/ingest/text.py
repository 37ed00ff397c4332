"""Markdown of a GitHub comment -> sentences an advice reader can look at.

Fenced code (logs, traces, configs) is dropped, except right after a sentence that introduces
it ("Workaround:", "add this to your jest config:"): its package-manager commands, or else the
block itself in short, are appended to that sentence as inline code. Pasted logs outside fences
are dropped too: a paragraph from a line that looks like a log or a traceback (`npm ERR!`,
`TypeError: …`, `File "…", line 3`) to its end, and inline code spans that run over several
lines. Quoted lines (`> …`) are kept apart: they repeat someone else's words, and a correction
that quotes an earlier comment names what it corrects. HTML comments (issue-template hints) and
the quoted tail of an e-mail reply ("On Wed, … <notifications@github.com> wrote:") are removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_DETAILS_RE = re.compile(r"</?(?:details|summary)[^>]*>", re.IGNORECASE)
_BULLET_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?")
_HEADING_RE = re.compile(r"^\s*#{1,6}\s+")
_BOLD_HEADING_RE = re.compile(r"^(?:\*\*|__)[^*_]{1,80}(?:\*\*|__):?$")  # "**Additional context**"
# A sentence ends at . ! ? followed by space and something that starts a sentence (a digit only
# after a word: "no wheels. 1.6.0rc1 has them"); the dots inside 0.31.2 never end one.
# A version's own full stop ends one too ("Same on 6.23.12. sqlrite2 6.24.0 fixed it"): a version
# never ends with a dot, and package names are often written in lower case. A release line
# starts one after any full stop ("Fixed in 2.1.0. 1.x users should not …").
_SENTENCE_END_RE = re.compile(
    r"(?<=[.!?])\s+(?=[A-Z`*_\"'(@\[]|--|[vV]?\d+(?:\.\d+)?\.[xX*]\s)"
    r"|(?<=[A-Za-z]{2}[.!?])\s+(?=\d|v\d+\.\d)|"
    r"(?:(?<=\d\.\d[.!?])|(?<=\d\.\d\d[.!?])|(?<=\d\.\d\d\d[.!?]))\s+(?=[a-z\d])"
)
_ABBREVIATION_RE = re.compile(r"(?:^|\s|\()(?:e\.g|i\.e|etc|vs|cf|approx)\.$", re.IGNORECASE)
_INTRO_RE = re.compile(
    r"(?::|\.\.\.|…|\bthe\s+following(?:\s+\S+){0,3}|"
    # "I can fix by this command", "solved by running" (no colon before the block)
    r"\b(?:this|these)\s+(?:commands?|lines?|code|snippet|config(?:uration)?|settings?)|"
    r"\bby\s+running)\s*$",
    re.IGNORECASE,
)
MAX_COMMAND_CHARS = 200
MAX_BLOCK_CHARS = 160
_MAX_DECLARATIONS = 6  # a longer manifest is someone's environment, not the entries to change
_ERROR_INTRO_RE = re.compile(r"\b(?:error|errors|fails?|failed|output|log|traceback)\b", re.I)
# A line of a pasted log or traceback: the rest of its paragraph is log too.
_LOG_LINE_RE = re.compile(
    r"^\s*(?:`\s*)?(?:npm\s+(?:ERR!|WARN|error|warn)|yarn\s+(?:error|warn)|ERR!|"
    r"Traceback\s+\(most\s+recent\s+call\s+last\)|File\s+\"[^\"]+\",\s+line\s+\d+|"
    r"at\s+(?:[\w.<>$\[\] ]+\s+\()?(?:[A-Za-z]:)?[\w./\\:@-]+:\d+|"
    r"(?:[A-Z]\w*(?:Error|Exception|Warning)|Error)(?:\s*\[[A-Z0-9_]+\])?:\s|"
    r"\[\d{4}-\d{2}-\d{2}[ ,T][^\]]*\]|E\s{2,}\S|\^+\s*$|code:\s+'[A-Z_]+')"
)
# The quoted tail of a reply by e-mail.
_REPLY_RE = re.compile(r"<notifications@github\.com>|\*\*\*@\*\*\*\.\*\*\*>|^\s*Sent from my ")
# Code spans, paired from the left as Markdown pairs them (never across a blank line).
_SPAN_RE = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)*?)(?<!`)\1(?!`)", re.DOTALL)
_COMMAND_LINE_RE = re.compile(
    r"^(?:sudo\s+)?(?:!|%)?(?:npm|npx|pnpm|yarn|pip3?|uv(?:\s+pip)?|poetry|bun|conda|"
    r"python3?\s+-m\s+pip)\s+\S"
)
# One dependency declaration on a line of a manifest: `"inquirer": "^8.2.6",` (package.json),
# `httpx<0.28` or `numpy==1.26.4` (requirements), `scipy = "<1.11.0"` (pyproject/Pipfile).
_VER = r"v?\d+(?:\.(?:\d+|[xX*]))*(?:[.-]?[A-Za-z]+\.?\d*)?"
DECLARATION_RE = re.compile(
    r"^\s*(?:[\"'](?P<json>@?[A-Za-z0-9][\w./-]*)[\"']\s*:\s*[\"'](?P<jspec>[~^<>=]*\s*"
    + _VER
    + r"(?:\s*[<>=]+\s*"
    + _VER
    + r")?)[\"']"
    r"|(?P<toml>[A-Za-z][\w.-]*)\s*=\s*[\"'](?P<tspec>(?:[<>=!~]=?|\^)?\s*"
    + _VER
    + r"(?:\s*,\s*[<>=!]=?\s*"
    + _VER
    + r")*)[\"']"
    r"|(?P<req>[A-Za-z][\w.-]*(?:\[[\w,]+\])?)\s*(?P<rspec>(?:===|==|>=|<=|~=|!=|<|>)\s*"
    + _VER
    + r"(?:\s*,\s*(?:>=|<=|!=|<|>)\s*"
    + _VER
    + r")*))\s*,?\s*$"
)


_SECTION_RE = re.compile(
    r"[\"']?(?:dev|peer|optional)?dependencies[\"']?\s*:\s*\{|\[(?:[\w.-]+\.)?(?:dev-)?"
    r"(?:dependencies|packages|requires)\]",
    re.IGNORECASE,
)
_SWAP_INTRO_RE = re.compile(r"\b(?:replac\w*|chang\w*|swap\w*)\s*:?$", re.IGNORECASE)
_BRACES = frozenset({"{", "}", "},", "[", "]", "],"})


def declarations(lines: list[str]) -> list[str] | None:
    """The lines of a block, when every one that is not blank, a comment or a brace declares a
    dependency (a manifest excerpt); else None."""
    kept = [ln.strip() for ln in lines]
    kept = [ln for ln in kept if ln and not ln.startswith(("#", "//")) and ln not in _BRACES]
    # a dependency section's header; any other section ("overrides") is not a list of entries
    kept = [ln for ln in kept if not _SECTION_RE.fullmatch(ln)]
    if not kept or not all(DECLARATION_RE.match(ln) for ln in kept):
        return None
    return [ln.rstrip(",").strip() for ln in kept]


@dataclass
class Message:
    """The readable parts of one comment."""

    sentences: list[str] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)  # quoted lines, joined per block
    # What a pasted log says about versions: the message line of an error ("ImportError: urllib3
    # v2.0 only supports …") and npm's "… from react-fade-in@2.0.1" (the package that failed).
    log_facts: list[str] = field(default_factory=list)
    # Packages a pasted log names: ".../site-packages/PKG/...", "Downgrade the PKG package".
    log_packages: list[str] = field(default_factory=list)


_FULLWIDTH = str.maketrans(
    {
        **{"：": ": ", "，": ", ", "；": "; ", "（": " (", "）": ") "},
        # every quote style reads as the ASCII one: “x”: “^2.9.1”, ‘x’, «x», 「x」
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u300c\u300d\u300e\u300f", '"'),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
    }
)
_LINK_RE = re.compile(r"\[([^\]]{1,200})\]\((?:https?://|/)[^)\s]*\)")
_ERROR_MESSAGE_RE = re.compile(
    r"^\s*(?:[A-Z]\w*(?:Error|Exception|Warning)):\s+(?P<message>.{8,300})$"
)
_NPM_FROM_RE = re.compile(
    r"\b(?:from|Failed\s+at\s+the)\s+(?P<pkg>@?[\w.-]+(?:/[\w.-]+)?@\d[\w.+-]*?)(?=[\s:]|install|$)"
)


def read_message(markdown: str) -> Message:
    """Sentences outside code and quotes, and the quoted passages, of a comment body."""
    text = _HTML_COMMENT_RE.sub(" ", markdown.replace("\r\n", "\n").replace("\r", "\n"))
    text = _LINK_RE.sub(r"\1", _DETAILS_RE.sub(" ", text).translate(_FULLWIDTH))
    out = Message()
    paragraph: list[str] = []
    quote: list[str] = []
    lines = _without_reply_tail(_without_multiline_spans(text).split("\n"))
    in_log = False
    i = 0
    introduced = -1  # the number of sentences when the last one introduced what follows

    pending: list[str] = []  # declarations shown before the words that say what they are

    swap = ""  # "replace", a block, "with", a block: "" | "old" (a block given) | "new"

    def flush() -> None:
        nonlocal swap
        if (
            paragraph
            and swap == "old"
            and re.fullmatch(r"(?:with|by|to|into)\s*:?", " ".join(paragraph), re.I)
        ):
            out.sentences[-1] += " " + " ".join(paragraph).rstrip(": ")
            paragraph.clear()
            swap = "new"
            return
        if paragraph:
            swap = ""
            before = len(out.sentences)
            out.sentences.extend(split_sentences("\n".join(paragraph)))
            paragraph.clear()
            if pending and len(out.sentences) > before:
                # "```"less": "^3"```, then "Lock the versions": the block is what is locked,
                # read with the words that follow it
                spans = " ".join(f"`{d}`" for d in pending)
                out.sentences[before] = f"{spans} {out.sentences[before]}"
                pending.clear()

    def flush_quote() -> None:
        if quote:
            out.quotes.append(" ".join(quote))
            quote.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE_RE.match(line)
        if fence:
            marker = fence.group(1)
            block: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                block.append(lines[i])
                i += 1
            i += 1  # the closing fence
            flush_quote()
            flush()
            for code_line in block:
                _log_fact(out, code_line)
            code = " ".join(b.strip() for b in block if b.strip())
            if (
                out.sentences
                and len(code) <= 80
                and "`" not in code
                and (swap == "new" or (not swap and _SWAP_INTRO_RE.search(out.sentences[-1])))
            ):
                # "replace ```import imp``` with ```import importlib as imp```": one sentence
                out.sentences[-1] += f" `{code}`"
                swap = "old" if swap != "new" else ""
                continue
            declared = declarations(block)
            introduced_here = bool(out.sentences) and _INTRO_RE.search(out.sentences[-1])
            if declared and not introduced_here and len(declared) <= _MAX_DECLARATIONS:
                pending[:] = declared
            else:
                _attach_command(out, block)
            continue
        stripped = line.strip()
        if stripped.startswith(">"):
            flush()
            quote.append(stripped.lstrip("> ").strip())
            i += 1
            continue
        flush_quote()
        command = _COMMAND_LINE_RE.match(stripped.removeprefix("$ "))
        command = command if not _TABLE_ROW_RE.match(line) else None  # "pip    23.3.1"
        declared_line = DECLARATION_RE.match(stripped)
        if (command or declared_line) and not paragraph and introduced == len(out.sentences):
            # "here is my fix:", a blank line, then the commands (or the dependency entries
            # "Add:" introduces): the intro's block
            pattern = _COMMAND_LINE_RE if command else DECLARATION_RE
            block = []
            while i < len(lines) and pattern.match(lines[i].strip().removeprefix("$ ")):
                block.append(lines[i])
                i += 1
            _attach_command(out, block)
            introduced = -1
            continue
        if not stripped:
            in_log = False
            flush()
            if out.sentences and _INTRO_RE.search(out.sentences[-1]):
                introduced = len(out.sentences)
        elif not in_log and _table_starts(lines, i):
            in_log = True  # a pasted `pip list` / `npm ls` table: the environment, not the text
        elif in_log or _LOG_LINE_RE.match(line):
            in_log = True  # a pasted log runs to the end of its paragraph
            _log_fact(out, line)
        elif (
            _HEADING_RE.match(line)
            or _BOLD_HEADING_RE.match(stripped)
            or _BULLET_RE.match(line)
            or (
                command and not (paragraph and _INTRO_RE.search(paragraph[-1]))  # "The fix is:"
            )
        ):
            # Headings, list items and commands stand alone: "- drizzle-kit: 0.31.0" is not
            # part of the sentence before it.
            flush()
            paragraph.append(_BULLET_RE.sub("", _HEADING_RE.sub("", line)).strip())
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush_quote()
    flush()
    return out


# A row of a package table pasted as text ("matplotlib          **3.8.0**", "Package  Version",
# "------- -------"): a name, two or more spaces, a version.
_TABLE_ROW_RE = re.compile(
    r"^\s*(?:[A-Za-z@][\w.@/\[\]-]*\s{2,}[*_`]{0,2}v?\d+(?:\.\w+)*[*_`]{0,2}(?:\s{2,}\S.*)?|"
    r"Package\s{2,}Version.*|-{3,}\s+-{3,}.*)\s*$",
    re.IGNORECASE,
)


def _table_starts(lines: list[str], i: int) -> bool:
    """Whether lines[i] starts a package table: it and the next line are rows."""
    return (
        i + 1 < len(lines)
        and bool(_TABLE_ROW_RE.match(lines[i]))
        and bool(_TABLE_ROW_RE.match(lines[i + 1]))
    )


_LOG_PACKAGE_RE = re.compile(
    r"site-packages[/\\](?P<py>[A-Za-z][\w.-]*)[/\\]|node_modules[/\\](?P<npm>(?:@[\w.-]+[/\\])?[\w.-]+)"
    r"[/\\]|\bthe\s+(?P<pkg>[a-z][\w.-]+)\s+package\b"
)


def _log_fact(out: Message, line: str) -> None:
    for found in _LOG_PACKAGE_RE.finditer(line):
        name = (found["py"] or found["npm"] or found["pkg"]).replace("\\", "/")
        if name.lower() not in ("google", "_pytest", "pip", "setuptools", ".bin", ".pnpm"):
            out.log_packages.append(name.lower())
    error = _ERROR_MESSAGE_RE.match(line)
    if error and not out.log_facts:
        out.log_facts.append(error["message"].strip())
    for found in _NPM_FROM_RE.finditer(line):
        if re.search(r"\b(?:peer|Could not resolve|Failed at)\b", line):
            fact = f"from {found['pkg']}"
            if fact not in out.log_facts:
                out.log_facts.append(fact)


def _attach_command(out: Message, block: list[str]) -> None:
    """Append a fenced block to the sentence that introduces it ("Workaround:"): its
    package-manager commands (up to three), or else the block in short."""
    if not out.sentences or not _INTRO_RE.search(out.sentences[-1]):
        return
    intro = out.sentences[-1]
    declared = declarations(block)
    if declared and len(declared) <= _MAX_DECLARATIONS and not _ERROR_INTRO_RE.search(intro):
        # dependency entries, one code span each: the reader judges whether they are offered
        out.sentences[-1] += "".join(f" `{d}`" for d in declared)
        return
    if re.search(
        r"\b(?:error|errors|fails?|failed|output|log|traceback|appears|got|get|verif\w*|"
        r"reproduc\w*|repro|steps)\b",
        intro,
        re.I,
    ):
        return  # "the below error appears:", "Verifying issue exists …:" introduce no fix
    lines = [b.strip().removeprefix("$ ").strip() for b in block]
    lines = [re.sub(r"\s+#\s.*$", "", b) for b in lines]  # "npm install  # installs uuid@9"
    lines = [b for b in lines if b and not b.startswith(("#", "//"))]
    commands = [b for b in lines if _COMMAND_LINE_RE.match(b) and "`" not in b]
    commands = [c for c in commands if len(c) <= MAX_COMMAND_CHARS][:3]
    workaround = re.search(r"\bwork\s*-?\s*around\b", intro, re.IGNORECASE)
    if commands and not (workaround and len(commands) < len(lines)):
        out.sentences[-1] += "".join(f" `{c}`" for c in commands)
        return
    short = re.sub(r"\s+", " ", " ".join(lines)).replace("`", "'").strip()
    if short and re.search(
        r"\b(?:work\s*-?\s*around|fix|solution|solve|add|adding|set|setting|config|this\s+way|"
        r"instead|following|like\s+this|try)\b",
        intro,
        re.IGNORECASE,
    ):
        if len(short) > MAX_BLOCK_CHARS:
            short = short[: MAX_BLOCK_CHARS - 1].rstrip() + "…"
        out.sentences[-1] += f" `{short}`"


def _without_multiline_spans(text: str) -> str:
    """Text with inline code spans that run over several lines (pasted logs) blanked, outside
    fenced blocks."""
    parts = re.split(r"(^[ \t]*(?:`{3,}|~{3,}).*$)", text, flags=re.MULTILINE)
    fenced = False
    for n, part in enumerate(parts):
        if n % 2:  # a fence line
            fenced = not fenced
        elif not fenced:
            # a log pasted in one code span over many lines: read it as a fenced block
            parts[n] = _SPAN_RE.sub(_span_as_block, part)
    return "".join(parts)


def _span_as_block(match: re.Match[str]) -> str:
    body = match.group(2)
    if "\n" not in body.strip() or len(match.group(1)) > 1 and len(body) < 200:
        return match.group(0)
    return f"\n```\n{body}\n```\n"


def _without_reply_tail(lines: list[str]) -> list[str]:
    """The lines before the quoted tail of a reply by e-mail (its header line included)."""
    for n, line in enumerate(lines):
        if _REPLY_RE.search(line):
            end = n
            # "On Wed, Dec 9, 2015 at 10:59 PM, Someone <notifications@github.com>" may wrap
            if (
                end > 0
                and re.match(r"^\s*(?:On|Le|Am|El)\s", lines[end - 1])
                and not re.match(r"^\s*(?:On|Le|Am|El)\s", line)
            ):
                end -= 1
            return lines[:end]
    return lines


# A line break that ends a sentence written without its full stop ("use django==3.2.9 version"
# then "Django>=4.0 does not support this package"): the next line starts a sentence (a capital,
# a digit, code) and the line before does not run on (a comma, a colon, a conjunction).
_LINE_END_RE = re.compile(
    r"(?<![,;:(\-/&+])(?<!\band)(?<!\bor)(?<!\bbut)(?<!\bthe)(?<!\bto)(?<!\bof)(?<!\bwith)"
    r"[ \t]*\n[ \t]*(?=[A-Z0-9`])"
)


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph (markdown emphasis kept; whitespace collapsed; a line break
    before a capital ends a sentence the writer left without its full stop)."""
    text = _LINE_END_RE.sub(" \x00 ", text.replace("**", "").replace("__", " "))
    return [s for part in text.split("\x00") for s in _split_line(part)]


def _split_line(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    out: list[str] = []
    for part in (s.strip() for s in _SENTENCE_END_RE.split(text)):
        if not part:
            continue
        if out and _ABBREVIATION_RE.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"  # "e.g. `pip install …`" goes on
        else:
            out.append(part)
    return [piece for sentence in out for piece in _bounded(sentence)]


# The longest sentence the readers take whole. Prose advice is far shorter (the corpus's longest
# sentence is 573 characters); a longer run of words without a full stop (a pasted list of
# thousands of versions, a hostile comment) is read in pieces of at most this length, so that
# reading a thread stays linear in its length.
MAX_SENTENCE = 600


def _bounded(sentence: str) -> list[str]:
    out: list[str] = []
    while len(sentence) > MAX_SENTENCE:
        cut = sentence.rfind(" ", MAX_SENTENCE // 2, MAX_SENTENCE)
        cut = cut if cut > 0 else MAX_SENTENCE
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*out, sentence] if sentence else out


# Clause boundaries: "Don't pin it; upgrade instead." / "…, but upgrading works" / "instead,".
_CLAUSE_RE = re.compile(
    r"\s*(?:;|\s-{1,2}\s|,?\s+\binstead\b(?!\s+of)[,:]?|,?\s+\bbut\b|,?\s+\bhowever\b,?|"
    r"^\s*instead\b[,:]?)\s*",
    re.IGNORECASE,
)


def clauses(sentence: str) -> list[str]:
    """A sentence cut where a negated part may meet an affirmed one."""
    return [c.strip(" ,.") for c in split_outside_code(_CLAUSE_RE, sentence) if c.strip(" ,.")]


_CODE_SPAN_RE = re.compile(r"`[^`]*`")


def split_outside_code(pattern: re.Pattern[str], text: str) -> list[str]:
    """`pattern.split(text)`, except inside `code spans` (`pd.concat([a, b])` stays whole)."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    masked = _CODE_SPAN_RE.sub(hide, text)
    parts = [p for p in pattern.split(masked) if p]
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], p) for p in parts]


CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"


def spaced(text: str) -> str:
    """Names and versions set apart from the text around them where no space does it: CJK text
    ("升级librosa到" -> "升级 librosa 到") and a name glued to its version ("werkzeug3.0.1")."""
    text = re.sub(rf"(?<=[{CJK}])(?=[A-Za-z0-9@<>=^~])", " ", text)
    text = re.sub(rf"(?<=[A-Za-z0-9])(?=[{CJK}])", " ", text)
    return re.sub(r"(?<![\w./@-])([A-Za-z][A-Za-z_-]{2,})(?=\d+\.\d)", r"\1 ", text)


def normalise(text: str) -> str:
    """Lowercase words only, for comparing a quote with the sentence it quotes."""
    return " ".join(re.findall(r"[a-z0-9@._/-]+", text.lower().replace("`", "")))
