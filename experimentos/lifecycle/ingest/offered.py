"""Versions offered without a word of direction: dependency entries shown as the fix (pins of
what they declare) and dist-tags offered to install (upgrades to them). actions.py reads these
before the phrasings of versions.py."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.text import DECLARATION_RE, split_outside_code
from experimentos.lifecycle.ingest.versions import resolve
from experimentos.lifecycle.ingest.vocab import (
    BACK_VERBS,
    UP_VERBS,
    Action,
    Context,
    bad_lib,
    code_spans,
)

# What makes dependency entries shown in a sentence the fix: an instruction to put them in a
# manifest, or a report that they fixed it ("We fixed this locally by …: `httpx<0.28`").
_DECLARE_SAYS_RE = re.compile(
    r"\b(?:add(?:ing)?|put|set(?:ting)?|pin(?:ning)?|lock(?:ing)?|specify(?:ing)?|change|use|"
    r"try|force)\b|锁定|固定|指定|写死|改为|改成|加上|添加",
    re.IGNORECASE,
)


def declared(piece: str, sentence: str, ctx: Context) -> list[Action]:
    """Dependency entries (`"inquirer": "^8.2.6"`, `httpx<0.28`, `scipy = "<1.11.0"`) offered as
    the fix: pins of what they declare. In the opening post only when they are said to have
    worked (its instructions ask the maintainers); never in a sentence that asks or fails."""
    entries = [DECLARATION_RE.match(code) for code in code_spans(piece)]
    entries = [e for e in entries if e is not None]
    if not entries or phrases.is_question(sentence) or phrases.failed(sentence):
        return []
    if re.search(r"\b(?:replac\w*|switch\w*|migrat\w*|instead)\b", sentence, re.I):
        return []  # "Replacing node-sass with `"sass": "^1.32.12"`": a swap, not a pin
    words = re.sub(r"`[^`]*`", " ", sentence)
    worked = [e for e in entries if _worked(e.group(0), sentence)]
    # "Workaround: `x<2`", "FIX: … by adding: `x<2`", "**Fix**: add" + "`x<2` to requirements.txt"
    labelled = phrases.offered_as_fix(words, ctx.previous)
    says = _DECLARE_SAYS_RE.search(words) or (labelled and _DECLARE_SAYS_RE.search(ctx.previous))
    if not worked and not labelled and (ctx.opening or not says):
        return []
    out = []
    for entry in entries if labelled or (says and not ctx.opening) else worked:
        lib = entry["json"] or entry["toml"] or re.sub(r"\[.*\]$", "", entry["req"])
        spec = re.sub(r"\s+", "", entry["jspec"] or entry["tspec"] or entry["rspec"])
        if bad_lib(lib):
            continue
        target = spec.lstrip("=v") if re.match(r"[=v]*\d", spec) else spec
        out.append(Action(_moved(words, target), lib, target))
    return out


# Where one clause of a sentence ends: "在安装`x==1.1.2`的时候, 就默认安装`y-2.1.2`。改为
# `y-2.0.1`即可正常运行" holds three acts; only the last is said to work.
_CLAUSE_END_RE = re.compile(r"[。；;！!]\s*|[,，]\s*|\.\s+")


def _worked(entry: str, sentence: str) -> bool:
    """Whether the sentence says the act on `entry` worked: in the entry's own clause, or in a
    clause that names no version of its own ("… to requirements.txt, now it works")."""

    def says(text: str) -> bool:
        words = re.sub(r"`[^`]*`", " ", text)
        return phrases.succeeded(words) or bool(
            re.search(r"\b(?:fixed|solved|resolved)\s+(?:it|this|the)\b|解决|可以了", words, re.I)
        )

    parts = [p for p in split_outside_code(_CLAUSE_END_RE, sentence) if p.strip()]
    own = next((p for p in parts if entry in p), sentence)
    return says(own) or any(says(p) and not re.search(r"\d\.\d", p) for p in parts if p != own)


def _moved(words: str, target: str) -> str:
    """A declaration the sentence says it went back or up to ("downgraded this package to
    version `nanoid@^3.3.4`") is that move; a lower bound alone (`acme-orm>=2.1`) moves up to it
    or later, as `pip install 'acme-orm>=2.1'` does; else it holds the version: a pin."""
    if re.search(rf"\b{BACK_VERBS}\b", words, re.IGNORECASE):
        return "downgrade"
    if re.search(rf"\b{UP_VERBS}\b", words, re.IGNORECASE) or re.fullmatch(
        r">=?\s*v?\d[\w.+!-]*", target
    ):
        return "upgrade"
    return "pin"


DIST_TAGS = ("next", "beta", "canary", "alpha", "rc", "nightly", "insiders", "experimental")
# "Please use `next` tag", "install the beta dist-tag", "use the @next release"
_DIST_TAG_RE = re.compile(
    r"\b(?:use|using|install|installing|try|trying|switch\s+to|go\s+with|grab|pull)\s+"
    r"(?:the\s+|a\s+)?(?:(?P<lib>@?[a-z][\w./-]*)(?=@))?`?@?(?P<tag>"
    + "|".join(DIST_TAGS)
    + r")`?\s+(?:dist-?\s*)?(?:tag|release|channel|version|build)\b",
    re.IGNORECASE,
)


def dist_tag(piece: str, sentence: str, ctx: Context) -> list[Action]:
    """A dist-tag offered to install ("Please use `next` tag"): an upgrade of the thread's
    package to that tag. Not in the opening post, where it asks the maintainers."""
    match = _DIST_TAG_RE.search(piece.replace("`", ""))
    if match is None or ctx.opening or phrases.is_question(sentence):
        return []
    lib = resolve(match["lib"], ctx, announce=ctx.maintainer)
    return [Action("upgrade", lib, match["tag"].lower())] if lib else []


def offered(piece: str, sentence: str, ctx: Context) -> list[Action]:
    """Pins of the dependency entries offered, else an upgrade to the dist-tag offered."""
    return declared(piece, sentence, ctx) or dist_tag(piece, sentence, ctx)
