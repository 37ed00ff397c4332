"""The words of a clause's direction and mood in the languages threads are written in: which way
an act goes (up, back, pin, neutral), and whether a clause reports success or failure, names the
problem, denies, instructs or plans. general.py reads sentences with them."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest import phrases
from experimentos.lifecycle.ingest.vocab import BACK_VERBS, NEUTRAL_VERBS, PIN_VERBS, UP_VERBS

# Words of direction, by language: English (vocab), Chinese, Japanese, Korean, French, German,
# Spanish, Portuguese, Russian. Stems, so that inflections match.
DIRECTIONS: dict[str, str] = {
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
DIRECTION_RES = {
    group: re.compile(rf"(?<![A-Za-z0-9_-])(?:{words})(?![a-z])", re.IGNORECASE)
    for group, words in DIRECTIONS.items()
}
SUCCESS_RE = re.compile(
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
FAILURE_RE = re.compile(
    r"没有解决|未解决|还是|仍然|依然|不行|失败|ne\s+(?:marche|fonctionne)\s+pas|no\s+funciona|"
    r"안\s*(?:됩니다|돼|되네|됨)|실패|"
    r"funktioniert\s+nicht|не\s+работает|\bbroken\b|\bcrash\w*|\bthrows?\b|\bunable\b|"
    r"\bcannot\b|\bcan'?t\b|\bremain\w*|\bpersist\w*",
    re.IGNORECASE,
)
# Words that name the problem: a failure unless the clause says it went away.
TROUBLE_RE = re.compile(
    r"报错|错误|异常|出现|エラー|오류|에러|\berr(?:eur|or)s?\b|\bexception\b|fehler|ошибк|problème|"
    r"\bproblema\b|\bissues?\s+(?:with|on|in)\b|\bknown\s+issues?\b",
    re.IGNORECASE,
)
NEGATION_RE = re.compile(
    r"不要|别|不能|不可以|无需|不需要|没必要|没有|并非|\bne\s+\w+\s+pas\b|\bnicht\b|\bkein\w*|\bне\b|"
    r"\b(?:don'?t|do\s+not|does\s+not|doesn'?t|didn'?t|did\s+not|never|shouldn'?t|should\s+not|"
    r"avoid|no\s+need|not|won'?t|isn'?t|wasn'?t)\b",
    re.IGNORECASE,
)
DIRECTIVE_RE = re.compile(
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
SHOULD_BE_RE = re.compile(
    r"\b(?:it|version|versions?\s+of\s+\S+|\S+\s+version)\s+(?:should|must|needs\s+to|has\s+to)"
    r"\s+be\s+v?\d",
    re.IGNORECASE,
)
PLAN_RE = re.compile(
    r"\b(?:i|we)(?:'ll|\s+will|\s+plan\s+to|\s+am\s+going\s+to|\s+are\s+going\s+to)\b|"
    r"\bwill\s+(?:be\s+)?(?:release|publish|update|fix)|\bgoing\s+to\b|打算|计划|将会|会在|会(?:更新|发布|修复|升级)|"
    r"本周|下周|明天|予定|prévu|geplant|планир",
    re.IGNORECASE,
)
