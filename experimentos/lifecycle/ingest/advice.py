"""A thread read as a sequence: the advice in it, who gave it, the release line it is for, and
what later comments do to it.

Each comment is read sentence by sentence, in order (questions are skipped; see phrases.py and
actions.py for what counts as advice). Later comments act on earlier advice:

- a maintainer who gives the same advice again, or affirms it ("Thanks, added!", "this is the
  right fix", "I did that", "glad you worked it out") endorses it: the affirmation names the
  advice (its version, flag, identifier or verb), or else it answers the comment just before it
  or the user it @-mentions;
- a maintainer's negated clause that names the advice ("don't pin drizzle-kit to 0.30.6")
  contradicts it, unless the clause is about another release line than the advice ("don't
  upgrade a 1.x project to 2.x" does not contradict "upgrade to 2.1.0" given for 2.0.x): advice
  given in the same comment is recorded as the alternative to what it corrects;
- its own author's negation or retraction ("scratch that", "this issue can be deleted")
  withdraws it. A user's disagreement is not a correction.

The stance of a piece of advice is the last of these events: `endorsed` (a maintainer gave or
affirmed it), `corrected`, `withdrawn`, or `none`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from experimentos.lifecycle.ingest import actions as act
from experimentos.lifecycle.ingest import general, held, kinds, newer, phrases, stance, vocab, words
from experimentos.lifecycle.ingest.lines import Line, line_in
from experimentos.lifecycle.ingest.mentions import runtime_name
from experimentos.lifecycle.ingest.roles import parse_version
from experimentos.lifecycle.ingest.said import Advice, Correction, Found, Said, Stance, said_at
from experimentos.lifecycle.ingest.scope import Scope, write_range
from experimentos.lifecycle.ingest.text import normalise, read_message, split_sentences
from experimentos.lifecycle.ingest.thread import Comment, Thread
from experimentos.lifecycle.ingest.vocab import Action, Context, key_of
from experimentos.repofacts.facts import python_key

__all__ = ["Advice", "ClaimScope", "Correction", "Said", "Stance", "advice_targets", "find_advice"]


@dataclass(frozen=True)
class ClaimScope:
    """The library and versions a claim applies to, and why."""

    library: str | None
    range: str | None
    how: str


def scope_of(
    advice: Advice, scope: Scope, scope_for: Callable[[str], Scope] | None = None
) -> ClaimScope:
    """The release line a piece of advice is for: the line it names ("on 1.x"), else the
    thread's range (an upgrade's ending below its target), else, for advice about a runtime
    ("use Node 19.7.0"), the runtime's line the thread reports (`scope_for(library)` reads the
    thread for another library), else the thread's library alone."""
    line = advice.line
    if line is not None:
        library = line.library or scope.library
        return ClaimScope(library, line.spec(scope.ecosystem), f"the advice names “{line.text}”")
    runtime = runtime_name(advice.subject)
    if (
        runtime in ("node", "python")
        and runtime != scope.library
        and scope.range is None  # a library's line, when the thread has one, scopes it
        and scope_for is not None
    ):
        own = scope_for(runtime)
        if own.range is not None:
            return ClaimScope(runtime, own.range, own.how)
    target = parse_version((advice.target or "").lstrip(">=v"))
    own = scope.library is not None and python_key(advice.subject) == python_key(scope.library)
    bound = re.search(r"(?:^|,)<(\d+(?:\.\d+)*)$", advice.target or "")
    if advice.kind in ("pin", "downgrade") and bound and not (own and scope.range):
        # "pin pydantic < 2" is advice for those who have 2: its line, or every later version
        # when the thread says they are all affected ("removed in importlib-metadata 5.0")
        low = bound.group(1)
        opened = any(
            m.open and m.role == "affected" and m.text.startswith(low) for m in scope.mentions
        ) or bool(_REMOVED_RE.search(advice.first.body))
        high = None if opened else _line_after(low)
        spec = write_range(low, high, scope.ecosystem)
        where = "and later" if high is None else f"up to {high}"
        return ClaimScope(
            advice.subject, spec, f"{advice.subject} {low} {where}, where the pin applies"
        )
    if advice.kind == "upgrade" and own and target is not None and scope.low is not None:
        high = parse_version(scope.high) if scope.high else None
        low = parse_version(scope.low)
        if low is not None and low < target and (high is None or target < high):
            capped = write_range(scope.low, str(target), scope.ecosystem)
            return ClaimScope(scope.library, capped, f"versions below {target}, from the thread")
    return ClaimScope(scope.library, scope.range, scope.how)


def advice_targets(advice: list[Advice]) -> list[tuple[str, str, int]]:
    """(library, version, comment) of each upgrade, downgrade or exact pin, wherever it is
    given: where the advice moves to."""
    out = []
    for item in advice:
        if item.kind in ("upgrade", "downgrade", "pin") and vocab.is_versioned(item.target):
            version = (item.target or "").lstrip("=v")
            if parse_version(version) is not None:
                out += [(item.subject, version, said.comment) for said in item.said]
    return out


_REMOVED_RE = re.compile(r"\b(?:removed|dropped|no\s+longer\s+(?:supports?|exists?|has))\b", re.I)


def _line_after(version: str) -> str | None:
    """The first version of the next release line: 2 -> 3.0.0, 0.28 -> 0.29.0."""
    parsed = parse_version(version)
    if parsed is None:
        return None
    major, minor = (list(parsed.release) + [0, 0])[:2]
    return f"{major + 1}.0.0" if major >= 1 else f"0.{minor + 1}.0"


def find_advice(thread: Thread, scope: Scope) -> list[Advice]:
    """Advice in the thread, in order of first mention, with what later comments did to it."""
    found = Found()
    ctx = Context(
        library=scope.library
        or _tracker_package(thread)
        or _logged_package(thread)
        or _imported_package(thread)
        or _own_tracker(thread),
        package=kinds.published_name(thread.repo, _all_text(thread)) or thread.repo,
        affected=_by_library(scope.mentions, "affected", scope.library),
        fixed=_by_library(scope.mentions, "fixed", scope.library),
        known=general.known_packages(thread, scope.mentions, scope.library),
        idents=_shown_as_code(thread),
        removed=words.removed_in(thread),
    )
    spelled = words.library_in_words(ctx.library)
    for index, comment in enumerate(thread.comments):
        message = read_message(comment.body)
        ctx.maintainer = comment.maintainer
        # the opening post's instructions ask the maintainers, unless a maintainer opened it
        asking = comment.opening and not comment.maintainer
        ctx.opening = asking
        negatives: list[tuple[str, str, Line | None]] = []  # (negated piece, sentence, line)
        given: list[str] = []
        by_sentence: dict[str, list[str]] = {}  # sentence -> keys of the advice it gives
        sentences = message.sentences + _outside_quotes(message.quotes, thread, index)
        if comment.opening:
            _read_title(thread.title, found, given, comment, ctx)
        steps = False  # inside the opening post's "steps to reproduce"
        carried: Line | None = None  # the line the comment's last advice was given for
        releases = comment.maintainer and bool(_RELEASES_RE.search(comment.body))
        for n, sentence in enumerate(sentences):
            plain = words.name_library(sentence.replace("\u2019", "'"), spelled, ctx.library)
            plain = words.bounds_in_words(plain)
            if comment.opening and _STEPS_RE.search(plain):
                steps = True
            elif comment.opening and _AFTER_STEPS_RE.match(plain):
                steps = False
            if steps or phrases.is_question(plain):
                continue
            if releases:
                note = _release_note(plain, ctx)
                if note is not None:
                    _record(found, given, note, index, comment, sentence)
                    continue
            following = sentences[n + 1] if n + 1 < len(sentences) else ""
            previous = sentences[n - 1] if n else ""
            ctx.previous, ctx.following = previous, following
            # a bare command in a reply is offered as a fix (unless it or what follows failed);
            # in the opening post only when the next sentence says it works or the one before
            # offers it as the solution ("解决方案，指定 werkzeug 的版本")
            ctx.standalone = (
                (not comment.opening or bool(_SOLUTION_BEFORE_RE.search(previous)))
                and not phrases.failed(plain)
                and not phrases.failed(following)
            ) or (bool(following) and phrases.succeeded(following) and not following.endswith("?"))
            upgraded = False
            before = len(given)
            for piece in phrases.pieces(plain):
                if phrases.negated(piece):
                    negatives.append((piece, sentence, act.line_of(piece, sentence, ctx)))
                    for action in act.avoid_in(piece, ctx, sentence):
                        _record(found, given, act.carry(action, carried), index, comment, sentence)
                    continue
                for action in act.actions_in(piece, sentence, ctx):
                    if action.implied and upgraded:
                        continue  # "This is fixed in openai 1.55.3, please upgrade": one advice
                    if action.implied and action.target == "latest":
                        # "The fix shipped in 2.1.0, please upgrade": to 2.1.0
                        named = newer.release_named(plain, previous, ctx)
                        action = replace(action, target=named) if named else action
                    upgraded = upgraded or action.kind == "upgrade"
                    _record(found, given, act.carry(action, carried), index, comment, sentence)
            if len(given) == before:
                # no phrasing matched: the general reading (a version, its package, an act)
                for action in general.read_sentence(plain, ctx, opening=asking):
                    _record(found, given, action, index, comment, sentence)
            if len(given) == before:
                # a workaround said in words: a clean reinstall, another package manager
                for action in words.said_workarounds(plain, asking):
                    _record(found, given, action, index, comment, sentence)
            if len(given) == before:
                for action in words.package_links(plain, ctx.library, asking):
                    _record(found, given, action, index, comment, sentence)
            by_sentence[sentence] = given[before:]
            if len(given) > before:
                carried = act.carried_line([found[k] for k in given[before:]])
        for item in words.listed_alternatives(comment.body, asking):
            # an item the readings above gave no advice for: another package to use instead
            # ("Use openpyxl"), else a workaround ("move to esm")
            if not any(by_sentence.get(s) for s in by_sentence if item in s):
                other = re.fullmatch(r"use\s+[`'\"]?([A-Za-z][\w.-]*)[`'\"]?", item, re.I)
                swap = other and ctx.library and other.group(1).lower() != ctx.library.lower()
                action = (
                    Action("use", other.group(1), ctx.library)
                    if swap and other
                    else Action("workaround", item)
                )
                _record(found, given, action, index, comment, item)
        if not any(found[k].kind == "workaround" for k in given):
            for action in words.cleanup_commands(comment.body, asking):
                _record(found, given, action, index, comment, action.subject)
        held.held_lines([found[k] for k in dict.fromkeys(given)], index, ctx.library)
        _merge_latest(found, given, index)
        if comment.maintainer:
            stance.endorse(found, index, comment, thread, given)
        if negatives or phrases.retracts(comment.body):
            stance.correct(
                found, index, comment, negatives, message.quotes, given, by_sentence, scope.affected
            )
    return list(found.values())


# A reply that points to the project's documents ("Please read the readme:", "did you read
# the changelog?"): what it quotes from them is its answer.
_QUOTED_LINE_RE = re.compile(r"^\s*>.*$", re.MULTILINE)
_DOCUMENTS_RE = re.compile(
    r"\b(?:readme|changelog|change\s+log|release\s+notes|docs|documentation|migration\s+guide|"
    r"upgrade\s+guide|faq)\b",
    re.IGNORECASE,
)
# A quote a reply offers as a workaround, solution or notes is its own words too, unless the
# reply turns it down ("Please don't use that solution", "This workaround doesn't work for me").
_OFFERED_RE = re.compile(r"\b(?:notes|work\s*-?\s*arounds?|solutions?)\b", re.IGNORECASE)
_TURNED_DOWN_RE = re.compile(
    r"\b(?:don'?t|do\s+not|never|not|no)\b[^.!?\n]{0,40}\b(?:work\s*-?\s*arounds?|solutions?)\b|"
    r"\b(?:work\s*-?\s*arounds?|solutions?)\b[^.!?\n]{0,40}\b(?:doesn'?t|does\s+not|didn'?t|did\s+not|"
    r"isn'?t|is\s+not|won'?t|fail\w*|broke\w*)",
    re.IGNORECASE,
)


def _outside_quotes(quotes: list[str], thread: Thread, index: int) -> list[str]:
    """The sentences of a reply's quotes from the project's documents (a README, a changelog
    it names, quoting no earlier comment): the speaker's own words; any other quote only points
    at what the reply answers."""
    if index == 0 or not quotes:
        return []
    own = _QUOTED_LINE_RE.sub("", thread.comments[index].body)
    offered = _OFFERED_RE.search(own) and not _TURNED_DOWN_RE.search(own)
    if not (_DOCUMENTS_RE.search(own) or offered):
        return []
    earlier = [normalise(c.body) for c in thread.comments[:index]] + [normalise(thread.title)]
    out: list[str] = []
    for quote in quotes:
        said = normalise(quote)
        if len(said) >= 12 and not any(said[:60] in text for text in earlier):
            out += split_sentences(quote)
    return out


def _read_title(title: str, found: Found, given: list[str], comment: Comment, ctx: Context) -> None:
    """The title is the opening post's first sentence: advice when it reports what worked
    ("… downgrading resolves", "降级为0.27.0就会解决"); an instruction only when a maintainer
    opened the issue (anyone else's "Upgrade X to 2.1.0" asks the maintainers for it)."""
    ctx.maintainer = comment.maintainer
    for action in general.read_sentence(title, ctx, opening=not comment.maintainer, title=True):
        _record(found, given, action, 0, comment, title)


_SOLUTION_BEFORE_RE = re.compile(
    r"\b(?:solution|workaround|fix|fixed\s+(?:it|this)|solved\s+(?:it|this))\b|解决|方案",
    re.IGNORECASE,
)
_STEPS_RE = re.compile(
    r"\b(?:steps\s+to\s+(?:reproduce|replicate)|to\s+(?:reproduce|replicate)|"
    r"how\s+to\s+(?:reproduce|replicate)|reproduction(?:\s+steps)?|"
    r"repro(?:\s+steps)?)\b",
    re.IGNORECASE,
)
_AFTER_STEPS_RE = re.compile(
    r"^(?:expected|actual|current|workaround|solution|possible\s+(?:fix|solution)|additional|"
    r"environment|what\s+(?:did|is)|describe|system|version|logs?|screenshots?|context)\b",
    re.IGNORECASE,
)
_RELEASES_RE = re.compile(
    r"\b(?:new\s+)?releases?\b[^.]*\b(?:of\s+interest|out|published|available)\b|\btwo\s+new\s+releases\b",
    re.I,
)
_NOTE_RE = re.compile(r"^[vV]?(?P<ver>\d+(?:\.\d+)+)\s*:\s*(?P<rest>.+)$")


def _release_note(sentence: str, ctx: Context) -> Action | None:
    """ "v1.11.3: this is compatible with numpy < v2." in a maintainer's list of new releases:
    an upgrade to that release, for the line it names."""
    match = _NOTE_RE.match(sentence.strip())
    if not match:
        return None
    return Action("upgrade", ctx.package, match["ver"], line_in(match["rest"], ctx.library))


def _shown_as_code(thread: Thread) -> frozenset[str]:
    """Names the thread shows as code: in backticks, or quoted in an error message
    ("'Switch' is not exported from 'react-router-dom'")."""
    names: set[str] = set()
    for comment in thread.comments:
        names.update(re.findall(r"`([A-Za-z_$][\w$.]{1,40})`", comment.body))
        names.update(re.findall(r"'([A-Z][A-Za-z0-9_]{2,40})'", comment.body))
        names.update(re.findall(r"<([A-Z][A-Za-z0-9_]{2,40})\s*/?>", comment.body))
    return frozenset(names)


def _tracker_package(thread: Thread) -> str | None:
    """The repository's own package, when the thread names it and no other library: what "it"
    means in "install the last version of it" in chalk's tracker."""
    if kinds.prose_name(thread.repo):
        return None  # "mongo-for-beginners/lesson5/app.py" names a course, not a package
    named = re.search(
        rf"(?<![\w-]){re.escape(thread.repo)}(?![\w-])", _all_text(thread), re.IGNORECASE
    )
    return thread.repo.lower() if named else None


def _all_text(thread: Thread) -> str:
    return " ".join([thread.title, *(c.body for c in thread.comments)])


def _own_tracker(thread: Thread) -> str | None:
    """The repository's package, when the thread names no package at all and its replies speak
    of the versions of "it" ("Supported till 3.2.0, you can install this version") in the
    tracker of a package (its repository named like one: lowercase with a dash)."""
    if kinds.prose_name(thread.repo):
        return None
    if not re.fullmatch(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+", thread.repo):
        return None
    return kinds.published_name(thread.repo, _all_text(thread))


def _logged_package(thread: Thread) -> str | None:
    """The package the pasted logs are about ("Downgrade the protobuf package to 3.20.x",
    ".../site-packages/pillow/..."), when the thread names none next to a version."""
    names: list[str] = []
    for comment in thread.comments:
        names += read_message(comment.body).log_packages
    if not names:
        return None
    counts = {n: names.count(n) for n in names}
    return max(counts, key=lambda n: (counts[n], -names.index(n)))


# "cannot import name 'cached_download' from 'huggingface_hub'", "No module named 'yaml'",
# "require() of ES Module …/node_modules/nanoid/index.js": the package the error is about
_IMPORT_ERROR_RE = re.compile(
    r"cannot\s+import\s+name\s+[`'\"]?[\w.]+[`'\"]?\s+from\s+[`'\"](?P<py>[A-Za-z_][\w]*)|"
    r"no\s+module\s+named\s+[`'\"](?P<mod>[A-Za-z_][\w]*)|"
    r"(?:require\(\)\s+of\s+ES\s+Module|Cannot\s+find\s+module)\s+[`'\"]?\S*?node_modules/"
    r"(?P<npm>(?:@[\w.-]+/)?[\w.-]+)/",
    re.IGNORECASE,
)


def _imported_package(thread: Thread) -> str | None:
    """The package an import error in the title or the opening post names, when the thread
    names none next to a version ("downgrading to a version previous to 0.26" is about it)."""
    text = " ".join([thread.title, thread.comments[0].body if thread.comments else ""])
    match = _IMPORT_ERROR_RE.search(text)
    if match is None:
        return None
    return (match["py"] or match["mod"] or match["npm"]).lower()


def _by_library(mentions: list, role: str, library: str | None = None) -> dict[str, list[str]]:
    """Versions by library key; an unnamed version counts for the thread's library."""
    out: dict[str, list[str]] = {}
    for mention in mentions:
        name = mention.name or library
        if mention.role == role and name:
            out.setdefault(python_key(name), []).append(mention.text)
    return out


def _record(
    found: Found,
    given: list[str],
    action: Action,
    index: int,
    comment: Comment,
    sentence: str,
) -> None:
    if (
        action.kind in ("upgrade", "downgrade", "pin")
        and action.subject.lower() in _RUNTIME_SPELLINGS
    ):
        # "moved back to nodejs 12": one name per runtime (node), as the thread's versions have it
        action = Action(
            action.kind, runtime_name(action.subject), action.target, action.line, action.implied
        )
    if (
        action.kind == "upgrade"
        and _OLD_MODULES_RE.search(sentence)
        and re.match(r"v?\d", action.target or "")
    ):
        # "you can also use version 5 if you need CommonJS": the version offered for the module
        # system a newer release left is the older one
        action = Action("downgrade", action.subject, action.target, action.line)
    key = key_of(action.kind, action.subject, action.target)
    if not key:
        return
    key = found.repeated(action.kind, action.subject, action.target) or key
    advice = found.get(key)
    if advice is None:
        advice = found[key] = Advice(
            action.kind, key, action.subject, action.target, line=action.line
        )
    elif advice.line is None and action.line is not None:
        advice.line = action.line
    if not advice.said or advice.said[-1].comment != index:
        advice.said.append(said_at(index, comment, sentence))
    given.append(key)


_RUNTIME_SPELLINGS = frozenset({"nodejs", "node.js"})
# the version is offered FOR the old module system ("use version 5 if you need CommonJS", "for
# CommonJS users", "if you still use require()", "v2 remains compatible with CommonJS"); a
# require() error an upgrade fixes ("it fixes the require() error") offers nothing for it
_OLD_MODULES_RE = re.compile(
    r"(?:\bfor|\bif\s+you\b[^.,;:]{0,30}?|\b(?:compatible|works?)\s+with|\bsupports?)\s+"
    r"(?:(?:a|an|the|your|their)\s+)?`?(?:\b(?:common\s?js|cjs)\b|\brequire\(\))",
    re.IGNORECASE,
)


def _merge_latest(found: dict[str, Advice], given: list[str], index: int) -> None:
    """ "Bumped to 3.0.0, now you can `npm i digest-fetch@latest`": one upgrade, to 3.0.0."""
    fresh = [found[k] for k in dict.fromkeys(given) if found[k].first.comment == index]
    for advice in fresh:
        if advice.kind != "upgrade" or advice.target != "latest":
            continue
        if any(
            o is not advice and o.kind == "upgrade" and o.subject == advice.subject for o in fresh
        ):
            del found[advice.key]
            given[:] = [k for k in given if k != advice.key]
