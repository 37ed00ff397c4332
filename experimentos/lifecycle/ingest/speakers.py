"""Who speaks in a thread: the maintainers, the reporter, and everyone else.

A commenter speaks for the project (a maintainer) when, in this order:

1. they are named with `--maintainer LOGIN`;
2. GitHub says so: `authorAssociation` OWNER, MEMBER or COLLABORATOR on any of their comments;
3. their login is the repository's owner;
4. `--fetch` could list the repository's collaborators and they are among them;
5. the payload does not give their `authorAssociation` (a hand-made or abridged payload) and a
   comment of theirs, other than the opening post, speaks for the project: it announces a
   release ("I've released 1.0.0", "Released in 1.15.1", "Fixed in v0.10.1", "The fix shipped
   in 2.1.0", "2.1.0 is now on PyPI"; never in a question), triages
   ("Duplicate of #549", "I'll close this issue", "This is by design"), speaks of the
   project's next release or branch ("will be included in our next release"), or of a change
   to the project's own files ("This has been changed in the requirements.txt").

When GitHub gives an association that is not one of the three, it is trusted: the heuristic of
rule 5 never overrides GitHub. Everyone else is the reporter (the opening post's author) or a
user. Each comment records its speaker's role and why (`Comment.speaker`, `speaker_how`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from experimentos.lifecycle.ingest.text import read_message
from experimentos.lifecycle.ingest.thread import MAINTAINER_ROLES, Thread

Role = Literal["maintainer", "reporter", "user"]

_V = r"`?v?\d+(?:\.\d+)*"
# Sentences by which someone speaks for the project (rule 5).
_SPEAKS_FOR_PROJECT = [
    re.compile(
        r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+|now\s+)?(?:released|published|tagged|shipped|"
        r"issued|uploaded|cut\s+(?:a\s+)?(?:new\s+)?release|bumped|pushed\s+(?:a\s+)?(?:new\s+)?"
        r"release)\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"^(?:(?:yes|yeah|yep|ok|okay|hi|hello|hey|so|thanks)\b[\s,!.:-]*)?"
        rf"(?:(?:this|it|(?:the|your)\s+(?:issue|bug|problem))\s+(?:is|was|has\s+been|should\s+be)\s+)?"
        rf"(?:now\s+)?(?:released|published|shipped|fixed|resolved|solved|landed)\s+(?:in|as|with)"
        rf"\s+(?:the\s+)?(?:latest\s+|new\s+)?(?:version\s+|release\s+)?{_V}",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:issue|bug|problem)\s+is\s+(?:solved|fixed|resolved)\s+in\s+", re.I),
    # "This is already fixed in the latest version!"
    re.compile(
        r"^(?:this|it|that)\s+(?:is|was|has\s+been)\s+(?:already\s+|now\s+)?(?:fixed|resolved)\s+"
        r"in\s+(?:the\s+)?(?:latest|newest|most\s+recent)\s+(?:version|release)\b",
        re.I,
    ),
    # a change to the project's own files: "This has been changed in the requirements.txt"
    re.compile(
        r"\b(?:this|it)\s+has\s+(?:now\s+)?been\s+(?:changed|updated|fixed|pinned|corrected)\s+"
        r"in\s+(?:the\s+|our\s+)?(?:requirements(?:\.txt)?|setup\.py|setup\.cfg|pyproject\.toml|"
        r"package\.json|environment\.ya?ml|main|master|develop|repo(?:sitory)?|readme)\b",
        re.I,
    ),
    re.compile(r"\b(?:now\s+)?(?:locked|pinned)\s+to\s+.*\band\s+published\s+in\s+", re.I),
    re.compile(r"^duplicate\s+of\s+#\d+", re.IGNORECASE),
    re.compile(
        r"^(?:i(?:'ve|\s+have)?\s+)?(?:just\s+)?cut\s+(?:a\s+)?(?:new\s+)?(?:release\s+)?v?\d", re.I
    ),
    re.compile(r"\bon\s+our\s+radar\b|\b(?:for|in|to)\s+our\s+(?:plugin|library|package)\b", re.I),
    re.compile(
        r"\b(?:i|we)(?:'ve|\s+have)?\s+yanked\b|\b(?:are|were|been|is|was)\s+yanked\b", re.I
    ),
    re.compile(rf"^{_V}`?\s+is\s+(?:out|released|published|live)\b", re.IGNORECASE),
    re.compile(
        r"^(?:already\s+)?(?:released|published|shipped)\s+(?:a|the)\s+(?:new\s+)?"
        r"(?:version|release)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:closing\s+(?:this|it|as)|i'?ll\s+close\s+this|i\s+will\s+close\s+this)", re.I
    ),
    # "Close as duplicated with #3772", "Closed as not planned", "closed by 17236b9"
    re.compile(
        r"^(?:clos(?:e|ed|ing))\s+(?:this\s+|it\s+)?(?:as\s+(?:a\s+)?(?:duplicat\w*|dup\b|stale|"
        r"resolved|fixed|completed|not\s+planned|won'?t\s+fix|invalid|answered)|"
        r"(?:by|with|in|via)\s+(?:#\d+|[0-9a-f]{7,40}\b|(?:pr|pull\s+request|commit)\b))",
        re.IGNORECASE,
    ),
    re.compile(r"\bthis\s+is\s+(?:by\s+design|intended|expected\s+behaviou?r)\b", re.IGNORECASE),
    re.compile(r"^thanks?\s+(?:you\s+)?for\s+(?:the|this|your)\s+(?:bug\s+)?report\b", re.I),
    re.compile(
        r"\b(?:in|into)\s+our\s+(?:next|upcoming)\s+(?:release|version)\b|"
        r"\bwill\s+be\s+(?:included|released|shipped)\s+in\s+our\b",
        re.IGNORECASE,
    ),
    re.compile(r"\bwe(?:'ll|\s+will)\s+(?:update|release|ship|publish)\s+(?:the|our|a)\b", re.I),
    re.compile(
        r"\bi(?:'ll|\s+will)\s+(?:push|release|publish|merge|ship)\s+(?:a|the)\s+"
        r"(?:fix|patch|new\s+(?:version|release))\b",
        re.I,
    ),
    re.compile(r"\b(?:it|this|the\s+fix)\s+will\s+be\s+released\s+(?:in|as|on|soon|next)\b", re.I),
    re.compile(r"\bupdated\s+(?:the\s+)?(?:main|master|develop)\s+branch\b", re.IGNORECASE),
    re.compile(
        r"\b(?:i|we)(?:'ll|\s+will)\s+(?:amend|update|fix|change)\s+(?:the|our)\s+"
        r"(?:readme|docs?|documentation|changelog)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:myself|we)\s+(?:or|and)\s+other\s+(?:project\s+)?maintainers\b", re.I),
    # the project's own fix merged: "The PR for this has been merged", "对应的PR已merge" (a user's
    # "My PR was merged into our app" names their own work)
    re.compile(
        r"^(?:the|this|that|a|its|the\s+related|the\s+linked)\s+(?:pr|pull\s+request|fix)\b"
        r"(?:\s+(?:for|to\s+fix)\s+(?:this|it|the\s+issue))?\s+(?:has\s+been|was|is|got)\s+"
        r"(?:now\s+)?merged\b(?!\s+into\s+(?:my|our)\b)|"
        r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+)?merged\s+(?:the|this|your|a)\s+(?:pr|pull\s+request|"
        r"fix)\b|(?:pr|pull\s+request|修复)\s*(?:已|已经)\s*(?:merge|合并|合入)",
        re.IGNORECASE,
    ),
    # an update shipped to fix it: "we just pushed an update to remove that"
    re.compile(
        r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+)?pushed\s+(?:an?\s+)?(?:update|fix|patch|change)s?"
        r"\s+(?:to\s+(?:remove|fix|resolve|address)|that\s+(?:removes|fixes|resolves|addresses))\b",
        re.IGNORECASE,
    ),
    # when a change ships: "… has already been added and will be released in 1.0.0"
    re.compile(
        rf"\b(?:has\s+(?:already\s+)?been\s+(?:added|merged|fixed)\s+and\s+)?will\s+be\s+"
        rf"(?:released|shipped|published)\s+(?:in|with|as)\s+{_V}",
        re.IGNORECASE,
    ),
    # triage by the project's template
    re.compile(
        r"\bplease\s+(?:follow|fill\s+(?:in|out)|use)\s+the\s+(?:issue\s+|bug\s+)?template\b", re.I
    ),
    # the project's release lines in the first person plural: "We still support 3.x branch",
    # "we could continue updating a v4 branch", "we will still be supporting 4.x", "in 4.0 we
    # moved to ESM" (a user's "we moved our app to ESM" names no release of the project)
    re.compile(
        rf"\bwe(?:'re|'ll|\s+are|\s+will|\s+could|\s+can|\s+would|\s+need\s+to)?\s+(?:still\s+)?"
        rf"(?:be\s+)?(?:continue\s+)?(?:to\s+)?(?:support(?:ing)?|maintain(?:ing)?|updating|keep(?:ing)?|"
        rf"backport(?:ing)?)\s+(?:(?:a|the|our)\s+)?{_V}(?:\.x)?`?(?:\s+(?:branch|line|series|"
        rf"around|releases?))?\b",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:in|since|with|as\s+of|starting\s+(?:with|from))\s+{_V}(?:\.x)?`?,?\s+we(?:'ve|\s+have)?\s+"
        r"(?:moved|switched|migrated|dropped|removed|changed|deprecated|renamed|added|made|"
        r"introduced|stopped)\b",
        re.IGNORECASE,
    ),
]


# A release with the fix announced in other words (rule 5, never read in a question): "The fix
# shipped in 2.1.0", "2.1.0 is now on PyPI", "Released 2.1.0 with a fix", "Closing: fixed in
# 2.1.0", "Merged the fix, it will go out in 2.1.0", "fixed on main and will ship in 2.1.0". A
# user's own words ("2.1.0 fixed it for me", "merged the fix into my fork") say none of these.
_ANNOUNCES_RELEASE = [
    re.compile(
        rf"^(?:the|this)\s+fix\s+(?:has\s+)?(?:shipped|landed|went\s+out|is\s+out|was\s+released|"
        rf"will\s+(?:ship|land|go\s+out|be\s+(?:part\s+of|out\s+in|in)))\s+(?:in|with|as)?\s*{_V}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:fixed|resolved)\s+(?:in|by|via)\s+#\d+\s+and\s+(?:released|published|shipped)\s+"
        rf"(?:in|as)\s+{_V}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"^clos(?:e|ed|ing)\s*[:,-]\s*(?:fixed|resolved|released)\s+(?:in|as)\s+{_V}", re.I
    ),
    re.compile(
        rf"^{_V}`?\s+is\s+(?:now\s+)?(?:(?:out|available|live|up)\s+)?on\s+(?:pypi|npm|conda-forge)\b",
        re.IGNORECASE,
    ),
    re.compile(rf"^(?:released|published|shipped|tagged)\s+{_V}", re.IGNORECASE),
    re.compile(
        r"^(?:thanks!?\s+)?(?:merged|landed)\s+(?:the|this|a)\s+(?:fix|pr|pull\s+request|patch)\b"
        r"(?!\s+(?:into|to|in)\s+(?:my|our)\b)",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:fixed|resolved)\s+(?:on|in)\s+(?:the\s+)?(?:main|master|develop)\b(?:\s+branch)?"
        rf"\s+and\s+will\s+(?:ship|go\s+out|be\s+released|land)\s+in\s+{_V}",
        re.IGNORECASE,
    ),
]

# What makes a release sentence a user's report rather than the project's announcement: it
# failed, it is theirs ("my fork", "our internal registry", "to production", "locally"), or it
# goes on with a "but"/"still" ("2.1.0 is now on PyPI but it still fails").
_OWN_USE_RE = re.compile(
    r"\b(?:for\s+me|for\s+us|my|mine|fork(?:ed)?|internal(?:ly)?|locally|production|prod|staging|"
    r"but|still|though|however|doesn'?t|does\s+not|didn'?t|did\s+not|isn'?t|not\s+work\w*|"
    r"fail\w*|broke\w*|break\w*|crash\w*|bug\w*|error\w*|regress\w*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Speaker:
    login: str
    role: Role
    how: str


def identify_speakers(
    thread: Thread,
    maintainers: Iterable[str] = (),
    collaborators: Iterable[str] | None = None,
) -> Thread:
    """The thread with each comment's speaker set (role and the reason for it)."""
    found = speakers(thread, maintainers, collaborators)
    comments = [
        c.model_copy(update={"speaker": found[c.author].role, "speaker_how": found[c.author].how})
        for c in thread.comments
    ]
    return thread.model_copy(update={"comments": comments})


def speakers(
    thread: Thread,
    maintainers: Iterable[str] = (),
    collaborators: Iterable[str] | None = None,
) -> dict[str, Speaker]:
    """Every author of the thread, by login, with their role and why."""
    named = {m.strip().lstrip("@").lower() for m in maintainers if m.strip()}
    team = {c.lower() for c in collaborators} if collaborators is not None else None
    opener = thread.comments[0].author if thread.comments else ""
    out: dict[str, Speaker] = {}
    for login in dict.fromkeys(c.author for c in thread.comments):
        out[login] = _speaker(thread, login, opener, named, team)
    return out


def _speaker(
    thread: Thread, login: str, opener: str, named: set[str], team: set[str] | None
) -> Speaker:
    theirs = [c for c in thread.comments if c.author == login]
    given = [c.association.upper() for c in theirs if c.association]
    plain: Role = "reporter" if login == opener else "user"
    if login.lower() in named:
        return Speaker(login, "maintainer", "named with --maintainer")
    strong = [a for a in given if a in MAINTAINER_ROLES]
    if strong:
        return Speaker(login, "maintainer", f"GitHub: {strong[0]}")
    if login.lower() == thread.owner.lower():
        return Speaker(login, "maintainer", f"owner of {thread.owner}/{thread.repo}")
    if team is not None and login.lower() in team:
        return Speaker(login, "maintainer", f"collaborator on {thread.owner}/{thread.repo}")
    if given:
        return Speaker(login, plain, f"GitHub: {given[-1]}")
    if login != "ghost":
        for comment in theirs:
            if comment.opening:
                continue
            cue = speaks_for_project(comment.body)
            if cue:
                return Speaker(login, "maintainer", f"speaks for the project: “{cue}”")
    how = "opened the issue" if plain == "reporter" else "no sign of speaking for the project"
    return Speaker(login, plain, how)


def speaks_for_project(markdown: str) -> str | None:
    """The first sentence of a comment by which its author speaks for the project, if any."""
    for sentence in read_message(markdown).sentences:
        text = sentence.replace("\u2019", "'").strip()
        announces = (
            not text.endswith("?")
            and not _OWN_USE_RE.search(text)
            and any(p.search(text) for p in _ANNOUNCES_RELEASE)
        )
        if announces or any(p.search(text) for p in _SPEAKS_FOR_PROJECT):
            return text if len(text) <= 120 else text[:119].rstrip() + "…"
    return None
