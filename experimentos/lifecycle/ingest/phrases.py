"""How a clause is said: a question, a negation, a retraction, an endorsement, an instruction
("try …", "you should …", "the fix is to …"), a report that something worked ("Downgrading to
0.30.6 fixed it", "I used Pillow==9.5.0 and problem solved"), or a release announcement ("Fixed
in v0.10.1", "I've released 1.0.0"). actions.py reads what the clause tells the reader to do;
advice.py walks the thread with both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from experimentos.lifecycle.ingest.text import clauses, split_outside_code

Mood = Literal["directive", "success", "announce"]

# The release line a clause is for, set before its verb: "on 1.x call …", "for 1.x users
# call …", "if you're on v1, call …", "5.x users: …" (lines.py reads which line it is).
_X = r"[vV]?\d+(?:\.\d+)?\.[xX*](?:\.[xX*])?"
LINE_LEAD = (
    rf"(?:(?:on|for|in)\s+(?:the\s+)?(?:(?:projects?|apps?|users?)\s+on\s+(?:the\s+)?)?{_X}"
    r"(?:\s+(?:line|branch|series|users?|projects?|apps?))?|"
    rf"if\s+you(?:'re|\s+are)\s+(?:still\s+)?on\s+(?:the\s+)?(?:{_X}|[vV]\d+)(?:\s+line)?|"
    rf"(?:the\s+)?{_X}\s+(?:users|projects|apps)|(?:projects?|apps?|users?)\s+on\s+(?:the\s+)?{_X})"
)
# Lead-ins that keep a clause imperative: "Workaround: …", "For now, …", "You should …".
LEAD_RE = re.compile(
    r"^(?:(?:so|ok|okay|yes|yeah|yep|also|and|or|then|alternatively|otherwise|meanwhile|"
    r"for\s+now|currently|in\s+the\s+meantime|in\s+the\s+mean\s+time|as\s+(?:a\s+)?(?:temporary\s+|"
    r"quick\s+)?(?:workaround|fix|solution)|workaround|solution|fix|simple\s+fix|quick\s+fix|tl;?dr|"
    r"update|edit|fwiw|imo|note|hey|hi|hello|thanks|thank\s+you|@[\w-]+|to\s+(?:fix|solve|"
    r"resolve)\s+(?:this|it|the\s+(?:issue|problem|error))|eventually|similarly|now|probably|"
    r"maybe|perhaps|temporarily|for\s+the\s+time\s+being|" + LINE_LEAD + r")"
    r"\s*[:,!-]?\s+)*"
    r"(?:please\s+|just\s+|simply\s+|i\s+would\s+(?:just\s+)?|i'd\s+(?:just\s+)?|"
    # an adverb before the verb: "we need to temporarily point …", "manually set …"
    r"(?:temporarily|manually|explicitly|quickly|directly|locally|first)\s+|"
    # "you can resolve the above issue by …", "you could fix it by …"
    r"(?:you|u)\s+(?:can|could)\s+(?:solve|fix|resolve|avoid)\s+(?:(?:[\w'-]+\s+){0,4}?by\s+|"
    r"(?:the\s+|this\s+|it\s+)?(?:problem\s+|issue\s+)?)|"
    # "you should", "Projects that need the old API should", "anyone who relies on it can"
    r"(?:(?:you|u|users?|people|one)\s+|(?:users?|people|projects?|apps?|anyone|those)\s+"
    r"(?:that|who|which)\s+(?:[\w'.-]+\s+){1,6}?)(?:can|could|should|need\s+to|have\s+to|must|may|"
    r"may\s+want\s+to|might\s+want\s+to|will\s+(?:need|have)\s+to|'ll\s+(?:need|have)\s+to|"
    r"just\s+need\s+to)\s+(?:just\s+|simply\s+|also\s+|probably\s+)*|"
    r"(?:you'll|you\s+will)\s+(?:need|have)\s+to\s+|"
    r"be\s+able\s+to\s+|(?:we\s+|you\s+)?need\s+to\s+(?:either\s+)?|"
    r"(?:suggestion|recommendation)\s+(?:is\s+)?to\s+|"
    r"(?:can|could|would)\s+you\s+(?:please\s+)?(?=try\b)|"
    r"try\s+(?:to\s+)?|i(?:'d|\s+would)?\s+(?:(?:strongly|highly)\s+)?(?:recommend|suggest)"
    r"(?:ed)?\s+(?:to\s+)?|we(?:'d|\s+would)?\s+(?:(?:strongly|highly)\s+)?(?:recommend|suggest)\s+(?:to\s+)?|"
    r"(?:i|we)\s+had\s+to\s+|(?:you\s+)?can\s+(?:also\s+)?(?:just\s+)?(?=set\b|pin\b|use\b|add\b)|"
    r"(?:the|a|one|my|our)\s+(?:quick\s+|simple\s+|temporary\s+|only\s+|proper\s+|real\s+|"
    r"current\s+|interim\s+|present\s+)?"
    r"(?:fix|solution|workaround|answer|way)\s+(?:for\s+(?:me|us)\s+)?(?:(?:for\s+)?now\s+)?"
    r"(?:here\s+)?"
    r"(?:is|was|would\s+be)\s+"
    r"(?:just\s+|simply\s+)?(?:to\s+)?|"
    r"make\s+sure\s+(?:to\s+|you\s+)?|consider\s+|"
    r"(?:(?:it|this|that|the\s+(?:error|issue|problem|bug))\s+)?can\s+be\s+(?:resolved|fixed|solved|"
    # "This can be done by adding `x==1.2` to requirements.txt": how the fix is done
    r"worked\s+around|avoided|done|achieved)\s+(?:by\s+)?(?:either\s+)?|"
    # "you can resolve the above issue by …", "you could fix it by …"
    r"(?:you|u)\s+(?:can|could)\s+(?:solve|fix|resolve|avoid)\s+(?:(?:[\w'-]+\s+){0,4}?by\s+|"
    r"(?:the\s+|this\s+|it\s+)?(?:problem\s+|issue\s+)?)|"
    r"it(?:'s|\s+is)\s+(?:better|safer|best)\s+to\s+|suggestion\s+to\s+)*",
    re.IGNORECASE,
)
# "I wouldn't go so far as to call 2.1.0 a fix for everyone": a hedge on a claim, not a negation
_HEDGE = r"(?!\s+go\s+(?:so|as|that)\s+far\b)"
NEGATION_RE = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|does\s+not|didn'?t|did\s+not|never|shouldn'?t|should\s+not|"
    rf"avoid|stop|no\s+need|no\s+longer|not{_HEDGE}|isn'?t|aren'?t|wasn'?t|won'?t|can'?t|cannot|"
    r"unnecessary|wrong|incorrect|bad\s+idea|discouraged|harmful|dangerous|hides?|masks?|"
    rf"breaks?|wouldn'?t{_HEDGE}|(?:advis|recommend|suggest|caution|warn)\w*\s+against)\b",
    re.IGNORECASE,
)
RETRACT_RE = re.compile(
    r"\b(?:ignore\s+(?:my|that|the)\s+(?:previous|last|earlier|above)|scratch\s+that|"
    r"my\s+bad|i\s+was\s+wrong|retract|disregard|never\s*mind|false\s+alarm|"
    r"(?:this|the)\s+issue\s+can\s+be\s+(?:deleted|closed)|was\s+my\s+(?:fault|mistake))\b",
    re.IGNORECASE,
)
_NARRATIVE_LEAD = re.compile(
    r"^(?:after|since|when|before|while|because|without|despite|once|until|even|(?:al)?though)\b",
    re.I,
)
# "… to not have the issue", "avoids the problem", "the error is gone": the act worked
AVOIDED = (
    # "It's not a problem when I add `"inquirer": "8"`": the act took the problem away
    r"\b(?:it'?s|it\s+is|it\s+was|that'?s)\s+not\s+an?\s+(?:problem|issue)\s+(?:when|if|after|once|with)\b|"
    r"\b(?:to\s+)?(?:not\s+(?:have|get|see|hit)|avoids?|avoided|avoiding|get\s+rid\s+of|"
    r"got\s+rid\s+of)\s+(?:the|this|that|any|my)\s+(?:issue|problem|error|bug|crash)s?\b|"
    r"\b(?:error|issue|problem|bug|crash)s?\s+(?:is|are|was|were|has\s+been|have\s+been)\s+gone\b"
)
# "If I downgrade to 3.11 it installs fine", "it connects without errors": the act went well
WENT_WELL = (
    r"\b(?:installs?|installed|connects?|connected|builds?|built|compiles?|compiled|starts?|"
    r"started|loads?|loaded|imports?|imported)\s+(?:just\s+)?(?:fine|ok|okay|correctly|"
    r"successfully|normally|again|without\s+(?:any\s+)?(?:errors?|issues?|problems?))\b"
)
# Success in the other languages threads are written in (general.py reads with them too).
OTHER_SUCCESS = (
    r"解决|好了|可以了|正常|成功|就行|就好|即可|没问题|搞定|解決|直り|直った|動き|動いた|\bmarche\b|"
    r"fonctionne|résolu|\bfunciona|resuelto|resolvido|funcionou|resolveu|funktioniert|klappt|"
    r"gelöst|läuft(?:\s+\w+)?\s+wieder|работает|помогло|решено|заработал|"
    r"잘\s*(?:됩니다|돼요|되네요|되었|됐|작동|동작)|해결|정상|"
    r"\bya\s+no\s+(?:me\s+)?(?:da|hay|sale|aparece|tira)\b"
)
# ... and failure in them: "还是报错", "안 됩니다", "no funciona"
OTHER_FAILURE = (
    r"没有解决|未解决|不正常|不行|失败|(?:还是|仍然|依然)(?:报错|不)|안\s*(?:됩니다|돼|되네|됨)|실패|"
    r"no\s+funciona|não\s+funciona|funktioniert\s+nicht|ne\s+(?:marche|fonctionne)\s+pas|"
    r"не\s+работает"
)
SUCCESS_RE = re.compile(
    WENT_WELL + r"|"
    r"(?:\b(?:fix(?:es|ed)?\s+(?:it|this|that|the|my|our|a|for)|fixed|solve[sd]?|"
    r"works?(?!\s+around)|worked|working|resolve[sd]|helped|helps|did\s+the\s+trick|"
    r"made\s+it\s+work|got\s+it\s+working|is\s+the\s+fix|runs?\s+(?:just\s+)?(?:fine|normally|as\s+expected|"
    r"successfully|ok|again)|compiles|problem\s+solved|sorted\s+out|no\s+more\s+errors?|"
    r"to\s+fix\s+(?:it|this|the)|seems?\s+to\s+fix|(?:went|goes|go)\s+away|disappeared|(?:has|have|includes?|contains?)\s+the\s+fix)\b|"
    + OTHER_SUCCESS
    + r")|"
    r"\b(?:everything|all|it)\s+(?:is|was|works?|worked|runs?|ran)\s+(?:just\s+)?(?:fine|ok|okay|"
    r"good|well)\b|" + AVOIDED,
    re.IGNORECASE,
)
_FAILED_RE = re.compile(
    r"\b(?:still\s+(?:fails?|failing|broken|happens|occurs|get|see|have)|"
    r"(?:does|did|do|is|was)\s*n[o']t\s+(?:work|help|fix|solve)|not\s+(?:working|helping)|"
    r"(?:it\s+)?(?:broke|breaks)\b|fails?\b|failed\b|reproduces\b|(?:can|could)\s+reproduce\b|"
    r"nothing\s+works|no\s+longer\s+works?|stopped\s+working|won'?t\s+work)|" + OTHER_FAILURE,
    re.IGNORECASE,
)
_FUTURE_RE = re.compile(
    r"\b(?:will\s+be|'ll\s+be|going\s+to\s+be|will\s+(?:eventually\s+)?(?:release|publish|"
    r"ship|cut|tag)|in\s+the\s+next\s+(?:few\s+)?(?:days|weeks|release)|soon)\b",
    re.IGNORECASE,
)
_V = r"(?:`?[\w@/.-]*[@ ])?`?(?:v\s?)?\d+(?:\.\d+)*(?:[.-]?(?:a|b|rc|alpha|beta|pre|dev)\.?\d*)?"
ANNOUNCE_RE = re.compile(
    rf"(?:^|\b(?:this|it|that|(?:the|your|this|that)\s+(?:issue|bug|problem|fix|error))\s+"
    rf"(?:is|was|has\s+been|should\s+be|got)\s+|\bnow\s+|\band\s+|\bissue\s+is\s+)"
    rf"(?:now\s+)?(?:fixed|resolved|solved|released|published|shipped|landed|available|out)"
    rf"\s+(?:in|as\s+of|with|since|on|by)\s+(?:the\s+)?(?:latest\s+|new\s+)?"
    rf"(?:version\s+|release\s+)?{_V}"
    rf"|\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+|now\s+)?(?:released|published|tagged|shipped|"
    rf"bumped|issued|uploaded|pushed)(?:\s+(?:it|this|the\s+fix|a\s+new|the\s+new))?\s+"
    rf"(?:(?:to|as|in|version)\s+)?{_V}"
    rf"|^{_V}`?\s+(?:fixes|fixed|solves|solved|resolves|resolved)\s+(?:it|this|the)\b"
    # "`uuid` has fixed the issue with v9"
    rf"|^[`'\"]?(?P<fixer>[\w@/.-]+)[`'\"]?\s+(?:has\s+|have\s+)?(?:fixed|resolved|solved)\s+"
    rf"(?:the|this|it)(?:\s+(?:issue|bug|problem|error))?\s+(?:with|in)\s+{_V}"
    rf"|\band\s+(?:released|published|issued|uploaded|pushed|tagged)\s+(?:a\s+new\s+|the\s+new\s+)?"
    rf"(?:version\s+|release\s+)?{_V}"
    rf"|^(?:bumped|released|published)\s+(?:(?:to|as|in)\s+)?{_V}"
    rf"|^(?:i(?:'ve|\s+have)?\s+)?(?:just\s+)?cut\s+(?:a\s+new\s+release\s+|release\s+)?{_V}"
    rf"|^(?:starting|beginning)\s+(?:with|from|in)\s+{_V}`?,?\s+(?:we|it)(?:'re|\s+are|\s+is|'s)?\s+"
    r"(?:now\s+)?(?:support|supporting|supports|compatible|works|working)"
    rf"|\b(?:this|it)\s+should\s+(?:now\s+)?be\s+(?:working|fixed)\s+(?:in|with|as\s+of)\s+{_V}"
    rf"|^{_V}`?\s+is\s+(?:out|released|available|on\s+(?:pypi|npm))\b"
    rf"|^{_V}`?\s+is\s+the\s+(?:release|version)\s+(?:with|that\s+has|that\s+includes|containing)"
    rf"\s+the\s+fix\b|^{_V}`?\s+(?:has|includes|contains)\s+the\s+fix\b"
    # "new release v20230629 is available at pypi", "Released acme-orm 2.1.0 with the fix"
    rf"|\bnew\s+(?:version|release)\s+{_V}`?\s+(?:is|was|has\s+been)\s+(?:now\s+)?"
    r"(?:out|released|published|available)\b"
    rf"|^(?:released|published|shipped)\s+{_V}`?\s+with\s+(?:the|a)\s+fix\b"
    rf"|\bnew\s+(?:version|release)\s+(?:of\s+[\w\s]+?\s+)?(?:has\s+been|was|is)\s+"
    rf"(?:released|published|out)\b"
    rf"|\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+|already\s+)?(?:released|published|pushed)\s+"
    rf"(?:a\s+new|the\s+new|a|the)\s+(?:version|release)\b"
    rf"|^(?:already\s+)?(?:released|published|shipped)\s+(?:a|the)\s+(?:new\s+)?(?:version|release)"
    rf"\s+with\s+the\s+fix\b"
    # "This is already fixed in the latest version!": an upgrade to the latest
    r"|\b(?:this|it|that|(?:the|this)\s+(?:issue|bug|problem|error))\s+(?:is|was|has\s+been|should\s+be)"
    r"\s+(?:already\s+|now\s+)?(?:fixed|resolved|solved|addressed)\s+(?:in|with|on|by)\s+(?:the\s+)?"
    r"(?:latest|newest|most\s+recent|current)\s+(?:version|release|build)\b",
    re.IGNORECASE,
)
# Interrogative openings: a question even without its "?" ("Or is it safe to use …").
_QUESTION_RE = re.compile(
    r"^(?:(?:or|and|but|so|also|hi|hello|hey)[,\s]+)*(?:"
    # an auxiliary and its subject: "is it safe", "have you tried", "does anyone know"
    r"(?:is|are|was|were|do|does|did|can|could|should|would|will|shall|have|has|had)\s+"
    r"(?:i|you|u|we|it|this|that|these|those|there|they|he|she|anyone|anybody|someone|somebody|"
    r"everyone|people|one)\b(?!\s+(?:please\s+)?try\b)|"
    # a question word, but not "what worked for me was …"
    r"(?:how|why|where|which|who)\b|what\b(?!\s+(?:worked|works|fixed|helped|solved|did\s+the))|"
    r"when\s+(?:is|are|will|would|does|do|can|should)\b|"
    r"(?:anyone|anybody)\b|any\s+(?:update|news|idea|ideas|progress|plans?|chance|eta)\b)",
    re.IGNORECASE,
)
ENDORSE_RE = re.compile(
    r"(?:\b(?:thanks?|thank\s+you)\b[^.!?]{0,40}\b(?:added|applied|merged|updated|changed|did\s+"
    r"(?:that|this|it)|done|pinned|locked|the\s+tip)\b|\b(?:that'?s|that\s+is|this\s+is)\s+"
    r"(?:indeed\s+)?(?:right|correct|the\s+(?:right|proper|correct|recommended)\s+(?:fix|way|workaround|"
    r"solution|answer))\b|\bclose\s+this\s+as\s+(?:resolved|answered|solved)\b|"
    r"^(?:yes|yep|yeah|correct|exactly|confirmed|indeed)\b|^\+1\b|^(?:ok|okay)[.!]?$|\bi\s+did\s+that\b|"
    r"\bglad\s+you\s+(?:worked|got|figured|sorted)\b|\bupdated\s+(?:the\s+)?(?:main|master)\s+"
    r"branch\s+to\s+have\s+this\b|\bright\s+fix\b|已经修改|已修改|已更新|可以了)",
    re.IGNORECASE,
)
_LABEL_RE = re.compile(
    r"(?:workaround|solution|fix|the\s+fix|quick\s+fix|simple\s+fix|try|run|do\s+this|"
    r"use\s+this|tl;?dr|use\s+command|command|the\s+(?:solution|fix|workaround)\s+is|"
    r"solution\s+is)",
    re.IGNORECASE,
)
_CODE_ONLY_RE = re.compile(r"(`+)[^`]+\1")
_CODES_ONLY_RE = re.compile(r"(?:`[^`]+`\s*)+")
_BARE_COMMAND_RE = re.compile(
    r"^[!$%]?\s*(?:sudo\s+)?(?:npm|pnpm|yarn|pip3?|uv|poetry|bun|python3?\s+-m\s+pip)\s", re.I
)
_VERSION_ONLY_RE = re.compile(r"`?(?:[@A-Za-z][\w./-]*@)?[vV]?\d+(?:\.[\dxX*]+)*`?")
_ASIDE_RE = re.compile(r"\s*\((?![^()]*`)[^()]{1,80}\)")
# Pieces of a clause: "If you can't upgrade, pin urllib3<2" has a negated and an advice part.
_PIECE_RE = re.compile(r",\s+|:\s+|\s+(?=\b(?:if|unless|until|when|because)\b)", re.IGNORECASE)


def is_question(sentence: str) -> bool:
    plain = sentence.replace("\u2019", "'").strip().strip("*_")
    return plain.rstrip(" )").endswith("?") or bool(_QUESTION_RE.match(plain))


def pieces(sentence: str) -> Iterator[str]:
    """The pieces of a sentence advice is read from; a code-only piece after a label or an
    instruction ("Workaround: `npm i --force`", "use command: `pip install …`") is marked as
    that instruction's object."""
    for clause in clauses(_ASIDE_RE.sub("", sentence)):
        labelled = False
        parts = split_outside_code(_PIECE_RE, clause)
        # a code-only part is the object of the part before it ("… this way: `{…}`")
        merged: list[str] = []
        for part in parts:
            bare = part.strip(" .")
            if merged and (
                (
                    _CODES_ONLY_RE.fullmatch(bare)
                    and not _LABEL_RE.fullmatch(merged[-1].strip(" .!*_"))
                )
                or _VERSION_ONLY_RE.fullmatch(bare)
            ):
                merged[-1] = f"{merged[-1]} {part}"
            else:
                merged.append(part)
        for piece in merged:
            piece = piece.strip(" .!*_")
            if not piece:
                continue
            if _LABEL_RE.fullmatch(piece):
                labelled = True
                continue
            if labelled and (_CODES_ONLY_RE.fullmatch(piece) or _BARE_COMMAND_RE.match(piece)):
                piece = f"run {piece}"
            labelled = False
            yield piece


# "disabling the check fixes the issue on electron@14": the version is where the problem was
# (a present-tense fix, or one "for me"; "We fixed it in 2.1.0" stays an announcement)
_WHERE_FIXED_RE = re.compile(
    r"\b(?:(?:fixes|solves|resolves)\s+(?:(?:the|this|that|my|our|an?)\s+(?:issue|problem|error|"
    r"bug|crash)|it|this|that)(?:\s+for\s+(?:me|us))?|(?:fix(?:es|ed)?|solved|resolved)\s+"
    r"(?:(?:the|this|that|my|our)\s+(?:issue|problem|error|bug|crash)|it|this|that)\s+for\s+"
    r"(?:me|us))\s+(?:on|with|under|in|for)\s+(?:[\w@/.-]+\s*)?$",
    re.IGNORECASE,
)


def where_fixed(before: str) -> bool:
    """Whether the version right after `before` is where an act fixed the problem ("…
    fixes the issue on acme 3", "fixed it for me with acme 3.0.0"), not a version to move to."""
    return bool(_WHERE_FIXED_RE.search(before))


# Where a version is the one a setup is in (read in the opening post): "works well with",
# "is running", "am on".
_SETUP_RE = re.compile(
    r"(?:\b(?:works?|worked|working|fine|ok|okay|well)\s+(?:\w+\s+){0,2}(?:with|on|under|using|in)|"
    r"\b(?:running|runs|(?:is|am|are|was|were)\s+(?:still\s+)?on))\s+"
    # "running node v12 and acme 2.4": every version of the list
    r"(?:[\w@/.-]+\s+v?\d[\w.]*\s+(?:and\s+|,\s*)){0,3}(?:[\w@/.-]+\s+)?$",
    re.IGNORECASE,
)


def in_setup(before: str) -> bool:
    """Whether the version right after `before` is one a setup runs ("it works well with
    acme@2", "another machine is running acme 2.4"): in the opening post, the report."""
    return bool(_SETUP_RE.search(before))


def negated(piece: str) -> bool:
    plain = re.sub(r"https?://\S+", "", piece)  # "…/importerror-cannot-import-name…" is a link
    plain = re.sub(r"\bwithout\s+(?:any\s+)?(?:errors?|issues?|problems?)\b", "", plain, flags=re.I)
    plain = re.sub(AVOIDED, "", plain, flags=re.I)  # "it's not a problem when …" is a success
    return bool(NEGATION_RE.search(plain) or RETRACT_RE.search(plain))


def retracts(text: str) -> bool:
    """ "Ignore my previous comment", "scratch that", "this issue can be deleted", …"""
    return bool(RETRACT_RE.search(text))


def endorses(text: str) -> bool:
    return bool(ENDORSE_RE.search(text.replace("\u2019", "'")))


def succeeded(text: str) -> bool:
    """Whether a sentence reports that something worked (and not that it failed)."""
    plain = re.sub(r"\bwithout\s+(?:any\s+)?(?:errors?|issues?|problems?)\b", "", text, flags=re.I)
    return bool(SUCCESS_RE.search(plain)) and not _FAILED_RE.search(plain)


def failed(text: str) -> bool:
    """Whether a sentence reports that something did not work."""
    return bool(_FAILED_RE.search(text))


def future(text: str) -> bool:
    return bool(_FUTURE_RE.search(text))


# A label or lead that offers what follows as the fix: "Workaround:", "**Fix**: add",
# "Solution - pin …", "As a temporary fix, …", "解决方法："
_FIX_LABEL_RE = re.compile(
    r"^\W*(?:(?:possible|temporary|quick|simple|my|a|the|current|working)\s+)*"
    r"(?:work\s*-?\s*around|fix|solution|solved|resolution|hot\s*fix|remedy|way\s+out|mitigation|"
    r"how\s+to\s+fix(?:\s+it)?|解决方法|解决办法|"
    r"解决方案|方案|办法|solución|lösung|решение)s?\W*(?:[:：\-–]|$)|"
    r"^\W*as\s+a\s+(?:temporary\s+|quick\s+)?(?:work\s*-?\s*around|fix|solution)\b|"
    r"\b(?:fixed|solved|resolved|worked\s+around)\s+(?:it|this|the\s+(?:issue|problem|error))?\s*"
    r"(?:by|with)\b|\bto\s+(?:fix|solve|resolve|work\s*around)\s+(?:it|this|the\s+(?:issue|"
    r"problem|error))\b",
    re.IGNORECASE,
)


# A maintainer's "we could continue updating a v4 branch", "we need to keep 4.x around": the
# project's own plans, not advice to the reader ("we recommend …" is advice)
_PROJECT_PLAN_RE = re.compile(
    r"\bwe(?:'ll|'d|\s+(?:\w+\s+)?(?:could|can|need\s+to|must|should|have\s+to|will|would|"
    r"might|may)\b)",
    re.IGNORECASE,
)


def project_plan(text: str) -> bool:
    """Whether `text`, said by a maintainer, speaks of what the project might do."""
    if re.search(
        r"\bwe(?:'d|\s+\w+)?\s+(?:\w+\s+)?(?:recommend|suggest|advise|encourage)", text, re.I
    ):
        return False  # "For now we'd recommend downgrading to v2.8": advice
    return bool(_PROJECT_PLAN_RE.search(text))


def offered_as_fix(text: str, previous: str = "") -> bool:
    """Whether `text` (or the label just before it) offers an act as the fix."""
    return bool(
        _FIX_LABEL_RE.search(text)
        or _FIX_LABEL_RE.match(previous.strip())
        or re.search(r"\b(?:solution|work\s*-?\s*around)\b|解决|方案", previous, re.I)
    )


def strip_lead(piece: str) -> str:
    return LEAD_RE.sub("", piece, count=1)


def mood(piece: str, sentence: str, verbs: str) -> Mood | None:
    """How `piece` speaks of doing `verbs`: an instruction, a report that it worked, or None."""
    narrated = re.match(r"(?:when|after|once|while|since)\s+(?:i|we)\b", sentence.strip(), re.I)
    if narrated and re.match(r"(?:and|or|then)\b", piece, re.I):
        return None  # "When I follow the solution, and install markupsafe 2.0.1, I get …"
    rest = strip_lead(piece)
    lead = piece[: len(piece) - len(rest)]
    start = re.match(rf"{verbs}\b", rest, re.IGNORECASE)
    if start:
        word = start.group(0).split()[0]
        # an imperative ("upgrade …"), or a gerund a lead asks for ("try installing …", "the
        # fix is just installing …"); not a report ("Installing … fails")
        if not re.search(r"(?:ing|ed)$", word, re.IGNORECASE):
            return "directive"
        if word.lower().endswith("ing") and re.search(
            r"\b(?:try|consider|recommend|suggest|is|was|be|just|simply|by|problem|issue|fixed|"
            r"solved|resolved)\s+$",
            lead,
            re.I,
        ):
            return "directive"
    if re.search(
        rf"\b(?:can|could)\s+be\s+(?:fixed|solved|resolved|avoided|worked\s+around|done|achieved)"
        rf"\s+(?:by\s+)?"
        rf"(?:either\s+)?{verbs}",
        piece,
        re.I,
    ):
        return "directive"  # "… (see the link) the error can be fixed specifying …"
    if re.search(r"\btry\s+$", lead, re.I) and re.match(
        r"(?:the\s+)?(?:version|release|v?\d|latest|newest)", rest, re.I
    ):
        return "directive"  # "you should try version 1.1.0"
    if lead.strip() and _BARE_COMMAND_RE.match(rest):
        return "directive"  # "Please try `npm install node-sass@9.0.0`"
    conditional = re.match(
        rf"(?:if|when|once)\s+(?:you|u|i|we)\s+(?:just\s+)?{verbs}\b", piece, re.IGNORECASE
    )
    if conditional and succeeded(sentence):
        return "success"  # "If you turn them back on with …, it compiles"
    if (
        _NARRATIVE_LEAD.match(piece)
        and not re.search(rf"\bafter\s+{verbs}", piece, re.I)
        and not (
            re.match(r"(?:when|once)\b", piece, re.I)
            and piece.strip() != sentence.strip()
            and succeeded(sentence)
        )
    ):
        return None  # but "Errors went away when SQLAlchemy was pinned to <1.4" reports a fix
    if not succeeded(sentence):
        return None
    # "Downgrading to X fixed it", "I downgraded my protobuf to X and it runs fine now",
    # "solved with MarkupSafe==2.0.1", "we fixed the problem by setting chalk to 4.1.2",
    # "it worked fine after i install it …", "Works for me after downgrading to 1.2.2".
    gerund = re.match(rf"(?:\w+\s+)?{verbs}\b", piece, re.IGNORECASE)
    if gerund and "ing" in gerund.group(0).lower():
        return "success"
    changing = r"(?:modifying|changing|setting|editing|updating)\b[^.]{0,60}?\bto\s+"
    if re.match(rf"{changing}{verbs}\b", piece, re.I):
        return "success"  # "Modifying the requirements file to use v1.4.46 causes it to run"
    if start and word.lower().endswith("ed"):
        return "success"  # "Downgraded to numpy version 1.21.6 and it works"
    if re.search(
        rf"\b(?:i|we|i've|we've|i\s+have|we\s+have|just)\s+(?:\w+\s+){{0,2}}{verbs}\b", piece, re.I
    ):
        return "success"
    if re.search(rf"\b(?:by|with|after|using|then)\s+(?:\w+\s+)?{verbs}\b", piece, re.I):
        return "success"
    if re.search(rf"\b(?:is|are|was|were|gets?|got|been)\s+{verbs}\b", piece, re.I):
        return "success"  # "if the version is reduced to 1.3.2, the project can run normally"
    return None
