"""Issue ingestion: a GitHub thread becomes a proposal with one source page and draft claims.

thread    the payload (REST or `gh issue view --json`) parsed into a Thread
speakers  who speaks for the project: maintainers, the reporter, users
text      comment Markdown -> sentences, clauses (code, logs and quotes kept apart)
mentions  the versions the thread names, and the thread's library
roles     what each version is to the thread (broken, fixed, working), from the words around it
scope     the library and version range the thread is about; alignment with a repository
lines     the release line one statement is about ("On 1.x, …")
picked    which version of a clause the general reading acts on
phrases   how a clause is said (instruction, report of success, announcement, question)
tongues   the words of direction and of mood (success, failure, instruction) in every language
names     which words next to a version can name a package
vocab     the words of advice: kinds, verbs, versions, commands; the keys of claims
kinds     which way a version goes (upgrade, downgrade, pin) and whose it is
commands  package-manager commands given as advice
versions  upgrade, downgrade and pin actions
newer     upgrades said in words (a more recent version, "X and later work")
offered   dependency entries shown as the fix (pins) and dist-tags offered (upgrades)
actions   flags, avoidance and workarounds
swaps     API swaps: one identifier (or package) instead of another
words     workarounds said in words; identifiers a thread says were removed
held      "stay on 1.x": the line a pin keeps, and whose advice it is beside a fix
said      the records: who said a piece of advice where, what later comments did to it
stance    what later comments do to earlier advice: endorse, correct, withdraw
advice    the thread read as a sequence: advice, its stance, the line it is for
pages     the source and claim pages, and how a re-ingest merges them
github    --fetch: the thread (and, when the token may list them, the collaborators)
run       plan and propose
"""

from experimentos.lifecycle.ingest.github import fetch_collaborators, fetch_issue, parse_issue_ref
from experimentos.lifecycle.ingest.run import IngestResult, ingest_issue, plan_ingest
from experimentos.lifecycle.ingest.thread import Thread, parse_payload, read_payload

__all__ = [
    "IngestResult",
    "Thread",
    "fetch_collaborators",
    "fetch_issue",
    "ingest_issue",
    "parse_issue_ref",
    "parse_payload",
    "plan_ingest",
    "read_payload",
]
