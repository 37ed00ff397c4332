"""A general reading of one sentence, for advice the phrasings of versions.py and actions.py do
not know: a version, the package it belongs to, and an act on it, told by broad cues and the
sentence's structure rather than by exact phrasings, in the languages threads are written in.

A clause gives version advice when it holds

- a version (`2.2.2`, `v5`, `^10`, `>=1.4,<2`) and the package it belongs to: the name right
  before it, even across a few words of another language ("升级librosa到 0.10.1", "werkzeug的版本为
  2.2.2"), else the last package the sentence named, else the thread's library;
- a word of direction (up, back, pin, or a neutral install/use/set) or a report that the
  version works ("everything works fine with `11.1.0`"); and
- a mood that makes it advice: a report that it worked ("… solved it", "问题已解决", "ça
  marche", "läuft wieder"), or, outside the opening post, an instruction: an imperative, a
  modal ("you need/should/have to", "需要", "il faut", "muss"), a recommendation ("建议").

It is not advice when the clause asks, denies, reports a failure or an error, or plans; the
opening post's instructions are requests to the maintainers (its reports of what worked are
advice). The kind comes from the word of direction, else the operator, else from comparing the
version with those the thread reports broken or fixed (versions._kind).

advice.py reads a sentence this way only when the phrasings found nothing in it, so this
reading widens recall without changing what the phrasings already read.
"""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.mentions import plausible_name
from experimentos.lifecycle.ingest.picked import at as _at
from experimentos.lifecycle.ingest.picked import make_action as _action
from experimentos.lifecycle.ingest.picked import pick as _pick
from experimentos.lifecycle.ingest.picked import reported_broken_here as _reported_broken
from experimentos.lifecycle.ingest.text import CJK, spaced
from experimentos.lifecycle.ingest.vocab import (
    BACK_VERBS,
    MANIFEST,
    NAME,
    NEUTRAL_VERBS,
    PIN_VERBS,
    UP_VERBS,
    VER,
    Action,
    Context,
    bad_lib,
)

_CJK = CJK
_HAN = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"  # CJK without Hangul

# Words of direction, by language: English (vocab), Chinese, Japanese, French, German, Spanish,
# Portuguese, Russian. Stems, so that inflections match.
_DIRECTIONS: dict[str, str] = {
    "up": UP_VERBS
    + r"|升级|升到|更新到|更新为|升至|アップグレード|アップデート|mettre\s+à\s+jour|mis\s+à\s+jour|"
    r"actualiz\w*|atualiz\w*|aktualisier\w*|обнов\w*|업그레이드|업데이트",
    "back": BACK_VERBS
    + r"|降级|降为|降到|降至|降低|回退|退回|回滚|换回|改回|ダウングレード|下げ|rétrograd\w*|"
    r"revenir\s+à|volv\w*\s+a|volt\w*\s+(?:para|a|ao)|zurück\w*|откат\w*|пониз\w*|戻|다운그레이드|"
    r"되돌",
    "pin": PIN_VERBS
    + r"|锁定|固定|写死|指定|限定|限制|épingl\w*|fixer|fij\w*|fixar|festleg\w*|fixier\w*|"
    r"закреп\w*|зафикс\w*",
    "neutral": NEUTRAL_VERBS + r"|need(?:s)?|have|(?:should|must)\s+be(?=\s+v?\d)|"
    r"安装|使用|改为|改成|换成|替换为|设置为|设为|用|试试|试一下|尝试|インストール|変更|installer|"
    r"바꾸|바꿔|변경|설치|사용|"
    r"utilis\w*|instal\w*|us(?:ar|ando|ei)|installier\w*|verwend\w*|benutz\w*|установ\w*|использ\w*|ставить",
}
_DIRECTION_RES = {
    group: re.compile(rf"(?<![A-Za-z0-9_-])(?:{words})(?![a-z])", re.IGNORECASE)
    for group, words in _DIRECTIONS.items()
}
_SUCCESS_RE = re.compile(
    r"\b(?:works|worked|working|fixe[sd]|solve[sd]|resolve[sd]|helped|did\s+the\s+trick|"
    r"(?:went|goes|go)\s+away|disappeared|runs?\s+(?:just\s+)?(?:fine|ok|normally|again|"
    r"as\s+expected)|problem\s+solved|sorted\s+(?:it\s+)?out|got\s+it\s+working)\b|"
    r"\b(?:can|could)\s+(?:now\s+)?(?:run|start|build|compile|launch)\b|"
    r"\b(?:runs|works|starts|builds|compiles)\s+now\b|"
    r"\b(?:is|are|'s)\s+(?:all\s+)?(?:ok|okay|fine|good)(?:\s+(?:again|now))?\b|\bok\s+again\b|"
    r"\bdisappear\w*|disparaît|disparu|réglé|corrigé|geholfen|behoben|\bhilft\b|solucion\w*|"
    r"desaparec\w*|исчез\w*|пропал\w*|" + phrases.OTHER_SUCCESS + r"|"
    r"\bno\s+(?:more\s+|longer\s+(?:an?\s+)?)?(?:errors?|issues?|problems?)\b|"
    r"\b(?:is|was)\s+fine\b|\bfine\s+(?:with|on|using|after)\b|"
    + phrases.AVOIDED
    + "|"
    + phrases.WENT_WELL,
    re.IGNORECASE,
)
_FAILURE_RE = re.compile(
    r"没有解决|未解决|还是|仍然|依然|不行|失败|ne\s+(?:marche|fonctionne)\s+pas|no\s+funciona|"
    r"안\s*(?:됩니다|돼|되네|됨)|실패|"
    r"funktioniert\s+nicht|не\s+работает|\bbroken\b|\bcrash\w*|\bthrows?\b|\bunable\b|"
    r"\bcannot\b|\bcan'?t\b|\bremain\w*|\bpersist\w*",
    re.IGNORECASE,
)
# Words that name the problem: a failure unless the clause says it went away.
_TROUBLE_RE = re.compile(
    r"报错|错误|异常|出现|エラー|오류|에러|\berr(?:eur|or)s?\b|\bexception\b|fehler|ошибк|problème|"
    r"\bproblema\b|\bissues?\s+(?:with|on|in)\b|\bknown\s+issues?\b",
    re.IGNORECASE,
)
_NEGATION_RE = re.compile(
    r"不要|别|不能|不可以|无需|不需要|没必要|没有|并非|\bne\s+\w+\s+pas\b|\bnicht\b|\bkein\w*|\bне\b|"
    r"\b(?:don'?t|do\s+not|does\s+not|doesn'?t|didn'?t|did\s+not|never|shouldn'?t|should\s+not|"
    r"avoid|no\s+need|not|won'?t|isn'?t|wasn'?t)\b",
    re.IGNORECASE,
)
_DIRECTIVE_RE = re.compile(
    r"需要|请|建议|应该|应当|可以|要|试试|试一下|尝试|把|将|してください|必要|"
    r"\bil\s+faut\b|\bvous\s+devez\b|\bessay\w*|\bhay\s+que\b|\bdebe\w*|\btienes\s+que\b|"
    r"\bvocê\s+deve\b|\bsollte\w*|\bmuss\w*|\bversuch\w*|нужно|надо|попроб\w*|"
    r"\bplease\s+(?=[a-z]+\s)|"
    r"\b(?:you|u|we|one|users?)\s+(?:just\s+)?(?:need|needs|must|should|have\s+to|has\s+to|"
    r"can|could|may\s+want\s+to)\b|\b(?:need|needs|requires?)\s+(?=\S+\s+v?\d)",
    re.IGNORECASE,
)
# "it should be 3.44 rather than 4.X", "the version should be 2.1.0 or later": what the
# version must be (said of the version, not of some other value: "the output should be 1.4")
_SHOULD_BE_RE = re.compile(
    r"\b(?:it|version|versions?\s+of\s+\S+|\S+\s+version)\s+(?:should|must|needs\s+to|has\s+to)"
    r"\s+be\s+v?\d",
    re.IGNORECASE,
)
_PLAN_RE = re.compile(
    r"\b(?:i|we)(?:'ll|\s+will|\s+plan\s+to|\s+am\s+going\s+to|\s+are\s+going\s+to)\b|"
    r"\bwill\s+(?:be\s+)?(?:release|publish|update|fix)|\bgoing\s+to\b|打算|计划|将会|会在|会(?:更新|发布|修复|升级)|"
    r"本周|下周|明天|予定|prévu|geplant|планир",
    re.IGNORECASE,
)
# Where a clause ends: punctuation of any script, " but ", a space before a CJK run, and an
# ASCII comma or full stop next to CJK text ("一直报错,各种弄都不行,把…升级到3.43.2后解决问题.").
_CLAUSE_RE = re.compile(
    # "either use sass-loader v10 or upgrade to Vue CLI v5": two acts, two clauses
    r"\s+(?:or|and(?:\s+then)?)\s+(?=(?:use|upgrade|update|downgrade|install|pin|switch|try|"
    r"revert|roll|go|stick|stay|lock|move)\b)|"
    rf"\s*[;；，。！？!?]\s*|,\s+|(?<=[{_CJK}])[,.]\s*|,(?=[{_CJK}])|\s+but\s+|\s+however\s+|"
    # a space between runs of Chinese or Japanese (Korean spaces its words: no clause ends there)
    rf"(?<=[{_HAN}])\s+(?=[{_HAN}])|(?<=[A-Za-z_)\]`'\"])\s+(?=[{_HAN}])",
    re.IGNORECASE,
)
_VERSION_RE = re.compile(
    rf"(?P<range>(?:>=|>|~=)\s*{VER}\s*(?:,|\s+and\s+|\s+)\s*(?:<=|<)\s*{VER})"
    rf"|(?P<op>===|==|>=|<=|~=|!=|=>|=<|<|>|\^|~|@|=)?\s*(?P<ver>{VER})(?!\w|\.\w)",
    re.IGNORECASE,
)
_NAME_RE = re.compile(rf"(?<![\w@/.-]){NAME}")
_URL_RE = re.compile(r"<[^>]+>|https?://\S+|\b[\w.-]+\.(?:com|org|io|net)/\S*")


# A version inside a condition: "when upgrading to v8 …", "if you upgrade to 3.0.0 …"
_CONDITION_RE = re.compile(
    r"\b(?:when|whenever|if|once|after|before)\s+(?:you|we|i|u|one)?\s*(?:are\s+|were\s+)?"
    r"[a-z]+\s+(?:\S+\s+){0,3}?(?:to|from)\s*$",
    re.IGNORECASE,
)


def clauses(sentence: str) -> list[str]:
    """A sentence cut into clauses at punctuation of any script and between CJK runs."""
    return [c.strip() for c in _CLAUSE_RE.split(sentence) if c and c.strip()]


_spaced = spaced


def _direction(text: str) -> tuple[str | None, int]:
    """The group of the last word of direction in `text` and where it ends (-1: none)."""
    best: tuple[str | None, int, int] = (None, -1, -1)
    for group, pattern in _DIRECTION_RES.items():
        for match in pattern.finditer(text):
            # a specific direction outranks a neutral "use" at the same place
            if match.start() > best[1] or (match.start() == best[1] and group != "neutral"):
                best = (group, match.start(), match.end())
    return best[0], best[2]


_RUNTIMES = frozenset({"node", "nodejs", "node.js", "python", "python3", "npm", "yarn", "pnpm"})
# The words that may sit between a package and its version: "urllib3==1.26.8",
# "react-router-dom@v5", "prettier version 3.0.0", "werkzeug to 2.2.2", "werkzeug 的版本为 2.2.2",
# "\"vite\": \"^4\"".
_GLUE_RE = re.compile(
    rf"(?P<name>{NAME})[\"']?\s*(?::\s*[\"']?|(?:={1, 3}|@)\s*|\s+(?:(?:version|to|v|at)\s+)?|"
    rf"\s*(?:[{_CJK}]\s*){{1,8}})$",
    re.IGNORECASE,
)


def known_packages(thread, mentions, library: str | None) -> frozenset[str]:  # noqa: ANN001
    """Packages the thread names next to a version, its library, the repository's name, and
    the runtimes: the words a version can belong to when it is not glued to one."""
    text = " ".join([thread.title, *(c.body for c in thread.comments)])
    counts: dict[str, int] = {}
    for mention in mentions:
        if mention.name and plausible_name(mention.name):
            counts[mention.name] = counts.get(mention.name, 0) + 1
    # a plain lowercase word once before a version ("confirm 1.9.3") is not a package; one
    # named twice, written as a name (case, digits, "-", "."), or shown as code is
    names = {
        name.lower()
        for name, n in counts.items()
        if n > 1
        or re.search(r"[A-Z0-9_./@-]", name)
        or re.search(rf"`{re.escape(name)}`|{re.escape(name)}(?:==|@)", text, re.IGNORECASE)
    }
    names |= {thread.repo.lower(), *(_RUNTIMES)}
    if library:
        names.add(library.lower())
    return frozenset(names)


# How far back from a version its package is looked for: a clause of prose is far shorter, and
# a bound keeps a hostile comment (thousands of numbers on one line) linear.
_PACKAGE_WINDOW = 300


def _package_before(text: str, ctx: Context) -> str | None:
    """The package a version belongs to, from the text before it: the name glued to it
    ("urllib3==", "prettier version", "werkzeug 的版本为"), else the last known package named."""
    text = text[-_PACKAGE_WINDOW:]
    glued = _GLUE_RE.search(text)
    if glued:
        name = glued["name"].strip(".-'\"")
        low = name.lower()
        # a Latin word amid CJK text is a name; in English, a known package or one that looks
        # like a package name
        cjk = bool(re.search(rf"[{_CJK}]", glued.group(0)))
        packageish = cjk or bool(re.search(r"[-./@]|\d", name)) or low in ctx.known
        if packageish and not bad_lib(name) and plausible_name(name) and low not in _NOT_NAMES:
            return ctx.library if ctx.library and low == ctx.library.lower() else name
    for match in reversed(list(_NAME_RE.finditer(text))):
        low = match.group(0).strip(".-").lower()
        if low in ctx.known and low not in _NOT_NAMES:
            return ctx.library if ctx.library and low == ctx.library.lower() else match.group(0)
    return None


def _known_named(text: str, ctx: Context) -> str | None:
    """The last package the thread knows that `text` names."""
    for match in reversed(list(_NAME_RE.finditer(text))):
        low = match.group(0).strip(".-").lower()
        if low in ctx.known and low not in _NOT_NAMES and low not in _RUNTIMES:
            return ctx.library if ctx.library and low == ctx.library.lower() else match.group(0)
    return None


def _verb_object(text: str, ctx: Context) -> str | None:
    """The package a word of direction acts on: "pin (the version of) pydantic to <2"."""
    match = re.match(
        rf"\s*(?:(?:the|your|my|our)\s+)?(?:version\s+of\s+)?[`'\"]?(?P<name>{NAME})[`'\"]?\s+"
        # "Updating Flask in _requirements.txt_ to version 2.1.x": the file it is written in
        rf"(?:(?:in|inside|within)\s+(?:the\s+|your\s+|my\s+|our\s+)?[_*`'\"]*{MANIFEST}[_*`'\"]*\s+)?"
        r"(?:to|from|at|version|dependency|package)\b",
        text,
        re.IGNORECASE,
    )
    if not match:
        return None
    name = match["name"]
    if bad_lib(name) or not plausible_name(name) or name.lower() in _NOT_NAMES:
        return None
    return ctx.library if ctx.library and name.lower() == ctx.library.lower() else name


_NOT_NAMES = frozenset(
    {"v", "version", "to", "at", "is", "the", "https", "http", "www", "github.com"}
)


# "Solution:", "Lösung:", "解决方法：": what follows is offered as the fix
_LABEL_RE = re.compile(
    r"^(?:solución|solution|solução|lösung|решение|workaround|fix|解决方法|解决办法|解决方案|"
    r"办法|方法)\s*[:：]\s*",
    re.IGNORECASE,
)


_UNDONE_RE = re.compile(
    r"\b(?:to|will|should|must|needs?\s+to|has\s+to|have\s+to|yet\s+to)\s+be\s+"
    r"(?:fixed|solved|resolved|addressed)\b|"
    r"\b(?:till|until|unless|if|whether|to\s+make|once)\s+(?:it|this|that|everything)\s+works?\b",
    re.IGNORECASE,
)


# "I have had to revert back to 1.2.0 because …", "I have to do the downgrade to 2.3.0": what
# the speaker had to do to get out of the bug, said as the way out
_HAD_TO_RE = re.compile(
    r"\b(?:i|we)(?:'ve|\s+have|\s+had|'d)?\s+(?:had\s+|have\s+|needed\s+|got\s+)?to\s+"
    r"(?:do\s+(?:the|a)\s+|go\s+back\s+and\s+)?(?:revert|downgrad|roll\s*back|go\s+back|pin|"
    r"lock|stay|stick)\w*",
    re.IGNORECASE,
)


def _mood(clause: str, sentence: str, opening: bool) -> str | None:
    """success, directive or None."""
    clause, sentence = _UNDONE_RE.sub(" ", clause), _UNDONE_RE.sub(" ", sentence)
    if _SUCCESS_RE.search(clause) or _HAD_TO_RE.search(clause):
        return "success"
    if opening:
        return None  # the opening post's instructions are requests to the maintainers
    rest = phrases.strip_lead(_LABEL_RE.sub("", clause))
    if rest != clause or _DIRECTIVE_RE.search(clause) or _SHOULD_BE_RE.search(clause):
        return "directive"
    group, _ = _direction(clause[:40])
    first = re.match(r"[\w-]+", rest)
    imperative = first and not re.search(r"(?:ing|ed|s)$", first.group(0), re.IGNORECASE)
    if group and imperative and _DIRECTION_RES[group].match(rest):
        return "directive"  # an imperative: "install urllib3==1.26.8"
    if (
        _SUCCESS_RE.search(sentence)
        and not phrases.failed(sentence)
        and _direction(clause)[0] not in (None, "neutral")
    ):
        return "success"  # "Downgraded to 1.9.3, now it works": the act, then its outcome
    return None


def said_to_work(version: str, sentence: str, opening: bool = False) -> bool:
    """Whether a clause of `sentence` acts on `version` (a word of direction in it, before the
    version or, in verb-final languages, after it) and says, in any language, that the act
    worked ("改为`x-2.0.1`即可正常运行", "Voltei para a x 2.9.1 e funcionou", "x 2.9.1 로 바꾸니까
    잘 됩니다"): a good version, not the one reported. Outside the opening post a version the
    success is linked to ("con x 2.9.1 ya no da error") counts too."""
    plain = sentence.replace("`", "").replace("\u2019", "'")
    if phrases.is_question(plain):
        return False
    for clause in clauses(plain):
        clause = _spaced(clause)
        at = clause.find(version)
        if at < 0 or _refused(clause) or (opening and phrases.in_setup(clause[:at])):
            continue
        if _mood(clause, plain, True) != "success":
            continue
        versions = [m for m in _VERSION_RE.finditer(clause) if m["ver"] == version]
        if _direction(clause)[0] is not None or (not opening and _linked(clause, versions) >= 0):
            return True
    return False


def _refused(clause: str) -> bool:
    """A clause that asks, denies, reports a failure or plans: no advice in it."""
    cleared = _SUCCESS_RE.sub(" ", clause)  # "no more errors" is a success
    cleared = re.sub(r"\bwithout\s+(?:any\s+)?(?:errors?|issues?|problems?)\b", " ", cleared)
    had_to = _HAD_TO_RE.search(clause)  # "… had to revert to 1.2.0 because of CORS errors"
    return bool(
        phrases.is_question(clause)
        or clause.rstrip().endswith(("吗", "么", "？"))
        or _NEGATION_RE.search(cleared)
        or (_failure(clause) and not had_to)
        or _PLAN_RE.search(clause)
        or phrases.future(clause)
    )


def _failure(text: str) -> bool:
    """Whether `text` reports a failure: a failing verb, or the problem's name with nothing
    saying it went away ("made the error disappear" is a success)."""
    text = _UNDONE_RE.sub(" ", text)
    if phrases.failed(text):
        return True  # "nothing works", "still fails"
    cleared = _SUCCESS_RE.sub(" ", text)
    cleared = re.sub(r"\bwithout\s+(?:any\s+)?(?:errors?|issues?|problems?)\b", " ", cleared)
    if _FAILURE_RE.search(cleared):
        return True
    return bool(_TROUBLE_RE.search(cleared)) and not _SUCCESS_RE.search(text)


def read_sentence(
    sentence: str, ctx: Context, opening: bool = False, title: bool = False
) -> list[Action]:
    """The version advice in one sentence, read clause by clause. In a title a bare major after
    a package names a task ("Upgrade to ESLint 9"), not a version to act on."""
    plain = _URL_RE.sub(" ", sentence).replace("`", "").replace("\u2019", "'")
    if phrases.is_question(plain):
        return []
    # a sentence that narrates a failure ("When I … install markupsafe 2.0.1, I get another
    # error") gives no advice in its other clauses
    if (
        _failure(plain)
        and not _SUCCESS_RE.search(_UNDONE_RE.sub(" ", plain))
        and not _HAD_TO_RE.search(plain)
    ):
        return []
    if _NO_REPRO_RE.search(plain):
        return []  # "works fine with 2.0.0 here, I can't reproduce": no advice, a reply
    out: list[Action] = []
    last_package: str | None = None
    for clause in clauses(plain):
        clause = _spaced(clause)
        versions = list(_VERSION_RE.finditer(clause))
        package_here = None
        for match in versions:
            package_here = _package_before(clause[: _at(match)], ctx) or package_here
        if not versions or _refused(clause) or (ctx.maintainer and phrases.project_plan(clause)):
            # "We forgot the specific gradio version, but it should be 3.44": the package the
            # sentence named last, in a clause with no version too
            named = package_here or (_known_named(clause, ctx) if not versions else None)
            last_package = named or last_package
            continue
        how = _mood(clause, plain, opening)
        group, after = _direction(clause)
        if group is None and how == "success" and not opening:
            # no word of direction: the version it works with ("with foo@1.9.3 everything is
            # OK again", "Can confirm 1.9.3 works"): a report of a good version. Not in the
            # opening post, where "This worked on 7.4.4" dates the regression.
            after = _linked(clause, versions)
        if how is None or (group is None and after < 0):
            last_package = package_here or last_package
            continue
        picked = _pick(versions, clause, after, frozenset() if title else ctx.known)
        if picked is None:
            last_package = package_here or last_package
            continue
        op, ver = picked[0], picked[1]
        before = clause[: picked[2]]
        if opening and phrases.in_setup(before):
            continue  # "another machine is running 2.4 and it works": the report's setup
        if _CONDITION_RE.search(before):
            continue  # "when upgrading to v8 you need to update webpack": the condition
        lib = (
            _package_before(before, ctx)
            or (_verb_object(clause[after : picked[2]], ctx) if group and after >= 0 else None)
            or package_here
            or last_package
        )
        last_package = lib or last_package
        if group in (None, "neutral") and _reported_broken(lib, ver, ctx):
            continue  # "works with 2.0.0" of the version the thread reports broken
        if group is None and lib and lib.lower() in _RUNTIMES:
            continue  # "It worked for me with node@16": where it worked, not what to install
        action = _action(lib, op, ver, group, ctx)
        if action is not None and action not in out:
            out.append(action)
    return out


# Where a version is the one something works with, in the languages of _DIRECTIONS.
_LINK_RE = re.compile(
    r"(?:\b(?:with|on|using|in|avec|sur|mit|con|com|на)|\bс|用|在)\s+(?:[\w@/.-]+\s*)?$",
    re.IGNORECASE,
)
_WORKS_AFTER_RE = re.compile(
    r"^[\s`'\"]*(?:(?:also|still|too|as\s+well)\s+)?(?:works?|worked|is\s+(?:ok|okay|fine|good|working)|fixes|fixed|solves|"
    r"(?:can|could)\s+(?:now\s+)?(?:run|work|start|build)|runs\s+(?:fine|ok|now|again)|"
    r"resolves|funciona|fonctionne|marche|funktioniert|работает)\b",
    re.IGNORECASE,
)


def _linked(clause: str, versions: list[re.Match[str]]) -> int:
    """Where the version a success is about starts (-1: none): one the clause links to it
    ("with 1.9.3", "avec foo 1.9.3") or one followed by it ("1.9.3 works")."""
    for match in versions:
        start = _at(match)
        if phrases.where_fixed(clause[:start]):
            continue  # "… fixes the issue on 3.0.0": where it was broken
        if _LINK_RE.search(clause[:start]) or _WORKS_AFTER_RE.match(clause[match.end() :]):
            return start
    return -1


_NO_REPRO_RE = re.compile(
    r"\b(?:can'?t|cannot|couldn'?t|could\s+not|unable\s+to|not\s+able\s+to|failed\s+to)\s+"
    r"reproduce\b|无法复现|不能复现",
    re.IGNORECASE,
)
