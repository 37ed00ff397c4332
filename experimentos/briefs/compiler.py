"""Compile a brief: local facts -> candidates -> trust -> ranking -> budget -> Markdown.

1. Local facts: the target repository's root manifests and lockfiles (memoised on their stat):
   every direct dependency, and the libraries the request names (`--library`, or words of the
   task text that name a dependency or a page's library).
2. Candidates and selection (select.py): hybrid search plus scope; what applies, ranked, with
   reasons; what is excluded, with reasons.
3. Trust (experimentos/knowledge/trust.py, applied by boundaries.py): only accepted, reviewed,
   unexpired policies and interventions whose cited code is unchanged are decision rules; two
   of them that contradict each other are shown as a conflict, neither as a rule; reviewed
   background that contradicts a rule is a warning; the rest is domain context or evidence,
   whose checks and forbidden actions are shown only as claims.
4. Ranking (rank.py): rules by how well they apply to this task; a rule whose scope matches
   nothing needs relevance to be a rule here at all.
5. Budget (budget.py, counted by ledger.py): a ceiling over the whole Markdown; rules first,
   compact before any is cut.
The brief depends on the request and what it reads, never on where the repository lives: the
id hashes the local facts, not the path, and no path is shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from experimentos.briefs import render
from experimentos.briefs.boundaries import Trust
from experimentos.briefs.budget import VERSIONS_SHARE, Packer, Pending
from experimentos.briefs.entries import (
    StaleCheck,
    boundary_of,
    cite_digest,
    rule_text,
    stat_key,
)
from experimentos.briefs.models import (
    Brief,
    BriefEntry,
    BriefRequest,
    Cut,
    Form,
    KnowledgeWarning,
    StaleWarning,
)
from experimentos.briefs.rank import rank_rules, retrieve_rules, reviewed_rules
from experimentos.briefs.select import (
    Candidate,
    applies_here,
    candidates,
    named_libraries,
    select,
)
from experimentos.errors import UsageError
from experimentos.index.tokens import count_markdown, count_tokens, tokenizer_name
from experimentos.knowledge.graph import DEPENDS_ON
from experimentos.knowledge.live import Live, Snapshot
from experimentos.knowledge.trust import Known
from experimentos.repofacts.facts import LocalFacts, LocalVersion, cached_local_facts
from experimentos.repofacts.versions import MatchContext
from experimentos.store.gitroot import work_tree
from experimentos.store.lab_scan import lab_record_ids

__all__ = ["boundary_of", "brief_id", "cite_digest", "compile_brief"]

MEMO_SIZE = 128  # briefs remembered per snapshot


def compile_brief(live: Live, request: BriefRequest, today: dt.date | None = None) -> Brief:
    """The brief for `request` over the live knowledge base (UsageError for a bad request,
    naming the field: a budget below MIN_BUDGET, say)."""
    req = request.checked()
    today = today or dt.date.today()
    snap = live.snapshot()
    repo = _repo(req)
    local = cached_local_facts(repo) if repo else None
    # The same request over the same knowledge and manifests gives the same brief: an agent's
    # session asks for it several times (pre-work, work context, brief). Cited files are
    # re-checked on every hit, since they live outside the watched knowledge root, and so are
    # the lab's records when a review named one.
    memo = snap.cache.setdefault("briefs", {})
    key = (req.model_dump_json(), id(local), today)
    hit = memo.get(key)
    root = live.workspace.root
    if (
        hit is not None
        and all(stat_key(path) == st for path, st in hit[1])
        and (hit[2] is None or hit[2][0] == lab_record_ids(root))
    ):
        return hit[0]

    named, unknown = named_libraries(req, local, snap)
    context = MatchContext(
        agent=req.agent,
        model=req.model,
        toolchain=req.toolchain,
        repo_type=req.repo_type,
        libraries=named,
        files=req.files,
        local=local,
    )
    known = Known(snap.pages, lambda: lab_record_ids(root))
    # Staleness that reads no cited code depends on the pages and the day: kept with them.
    stale_memo = snap.cache.setdefault(("stale", today), {})
    stale = StaleCheck(repo or _git_root(root), today, snap.pages, stale_memo)
    trust = Trust(snap, req.depth, stale, today, known)
    found, mode, notice = candidates(live, snap, req, context)

    def rule_here(page_id: str) -> bool:  # what can be a rule of this brief
        page = snap.pages[page_id]
        return trust.boundary_of(page_id) == "decision_capable" and applies_here(
            snap, page, context, today, known
        )

    for page_id in retrieve_rules(snap, " ".join([req.task, *req.libraries]), rule_here):
        found.setdefault(page_id, Candidate(snap.pages[page_id]))  # rules a crowd hid
    selected, excluded, warnings = select(snap, found, context, today, known)
    shaped = reviewed_rules(snap)
    selected, dropped = rank_rules(
        " ".join([req.task, *req.libraries]),
        selected,
        lambda pid: pid in shaped and trust.boundary_of(pid) == "decision_capable",
    )
    excluded = sorted([*excluded, *dropped], key=lambda x: x.id)
    trust.keep(selected, req.budget)
    selected = trust.kept
    warnings = _unique_warnings([*warnings, *trust.warnings()])

    brief = Brief(
        brief_id="",
        request=req,
        knowledge_hash=snap.content_hash,
        search_mode=mode,
        notice=notice,
        excluded=excluded,
        conflicts=trust.conflicts,
        warnings=warnings,
        local_versions=_local_versions(local, named, [c.page for c in selected]),
        named_libraries=named,
        unknown_libraries=unknown,
        manifests=list(local.manifests) if local else [],
        manifest_problems=[_relative(p, repo) for p in local.problems] if local else [],
        tokenizer=tokenizer_name(),
    )
    # The id covers every stale reason the brief could show, so it is known before the budget
    # decides which pages are shown (and its tokens count in the header).
    brief.brief_id = brief_id(brief, trust.stale_reasons())
    packer = _fit(brief, snap, trust, selected)
    _settle(brief, packer, snap)
    if len(memo) >= MEMO_SIZE:
        memo.pop(next(iter(memo)))
    memo[key] = (brief, stale.checked, (known.records(),) if known.asked else None)
    return brief


def brief_id(brief: Brief, stale: dict[str, list[str]] | None = None) -> str:
    """A hash of the request (without the repository's path: the same request on the same
    knowledge is the same brief wherever the repository lives), the knowledge content, the local
    facts and the staleness of the pages (cited code outside the knowledge base) it saw."""
    request = brief.request.model_dump(mode="json")
    request["repo"] = request["repo"] is not None  # given or not; what it holds is below
    payload = {
        "request": request,
        "knowledge": brief.knowledge_hash,
        "local": {k: v.model_dump(mode="json") for k, v in sorted(brief.local_versions.items())},
        "manifests": brief.manifests,
        "problems": [p.model_dump(mode="json") for p in brief.manifest_problems],
        "stale": stale if stale is not None else _stale_by_page(brief),
        "mode": brief.search_mode,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return f"brief.{digest[:16]}"


def _relative(problem, repo: Path | None):  # noqa: ANN001, ANN202 - ManifestProblem
    """A manifest problem without the repository's absolute path in its message."""
    if repo is None or str(repo) not in problem.message:
        return problem
    return problem.model_copy(update={"message": problem.message.replace(str(repo), ".")})


def _stale_by_page(brief: Brief) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for warning in brief.stale_warnings:
        out.setdefault(warning.id, []).append(warning.reason)
    return dict(sorted(out.items()))


def _unique_warnings(warnings: list[KnowledgeWarning]) -> list[KnowledgeWarning]:
    seen, out = set(), []
    for w in warnings:
        if (w.id, w.code, w.message) not in seen:
            seen.add((w.id, w.code, w.message))
            out.append(w)
    return out


# --- budget ------------------------------------------------------------------------------------


def _fit(brief: Brief, snap: Snapshot, trust: Trust, selected: list[Candidate]) -> Packer:
    """Fill `brief` with entries and optional parts in priority order (see budget.py)."""
    info = {c.page.id: (c.score, c.reasons) for c in selected}

    # A floor depends on the page's text, the form and whether it shows as a rule: kept with
    # the snapshot, so a brief computes only those of pages no brief has weighed before.
    floors: dict[tuple[str, Form, bool], int] = snap.cache.setdefault(("floors",), {})

    def floor(page_id: str, form: Form) -> int:
        """The least the page's block takes in `form`, without rendering it: its heading and
        summary lines, and a token a word for the lists (and rule section) the form shows."""
        rule = trust.boundary.get(page_id) == "decision_capable"
        found = floors.get((page_id, form, rule))
        if found is None:
            page = snap.pages[page_id]
            heading = f"### {page_id}: {render.inline(page.title)}"
            found = count_tokens(heading) + count_tokens(render.inline(page.summary))
            if rule:
                words = [*page.forbidden_actions]
                if form in ("compact", "full"):
                    words += page.required_checks
                found += sum(len(w.split()) for w in words)
                if form == "full":
                    found += len(rule_text(page).split())
            floors[(page_id, form, rule)] = found
        return found

    packer = Packer(brief, trust.entry, trust.closure, info, floor)
    groups: dict[str, list[Candidate]] = {}
    for cand in selected:
        pid = cand.page.id
        group = "conflict" if pid in trust.conflict_with else trust.boundary[pid]
        groups.setdefault(group, []).append(cand)
    for pid in sorted(trust.conflict_with):  # a conflicting rule pulled in as a dependency only
        if pid not in info:
            groups.setdefault("conflict", []).append(Candidate(snap.pages[pid]))

    def pending(group: str, rule: bool) -> list[Pending]:
        return [Pending(c.page.id, c.page.title, rule) for c in groups.get(group, [])]

    rules, conflicting = pending("decision_capable", True), pending("conflict", True)
    context, evidence = pending("domain_context", False), pending("evidence_only", False)
    packer.set_pending(
        [p.page_id for p in (*rules, *conflicting)], len(context) + len(evidence), trust.omitted
    )
    packer.rules(rules, ("compact", "line"))  # 1. every rule, compact before any is cut
    packer.rules(conflicting, ("compact",))  # 2. conflicts
    packer.list_rule_ids()  # 3. the ids of every rule left out
    first, rest = render.fact_lines(brief)
    packer.versions("versions_named", len(first))  # 4. named libraries
    # 5. the rules in full, then rules that came in only as a dependency
    rule_ids = [p.page_id for p in rules]
    packer.upgrade(rule_ids, "full", "ref", None)
    dependency_rules = [
        pid
        for pid, e in packer.entries.items()
        if e.boundary == "decision_capable" and pid not in rule_ids
    ]
    packer.upgrade(dependency_rules, "full", "ref", None)
    packer.upgrade([p.page_id for p in conflicting], "full", "ref", None)
    # 6. warnings per code with their ids; 7. the header's optional lines
    if packer.option(lambda: setattr(packer.layout, "warnings_tier", 1)):
        codes = render.warning_codes(brief.warnings).values()
        _grow(packer, "warning_ids", max((len(ids) for ids in codes), default=0))
    for field in ("show_id", "guidance", "scope", "notice", "facts_extra"):
        packer.option(lambda f=field: setattr(packer.layout, f, True))
    # 8. the other direct dependencies, within their share of the budget
    if packer.layout.versions_named >= len(first):
        packer.versions("versions_other", len(rest), int(VERSIONS_SHARE * brief.request.budget))
    # 9. domain context, then evidence, each with its dependencies
    packer.others(context, "full", "full", "ref")
    packer.upgrade(_refs(packer, trust, "domain_context"), "full", "full", "ref")
    packer.others(evidence, "full", "full", "ref")
    packer.upgrade(_refs(packer, trust, "evidence_only"), "full", "full", "ref")
    # 10. the other pages left out, by id; the warnings' messages
    packer.list_others()
    packer.option(lambda: setattr(packer.layout, "warnings_tier", 2))
    packer.finish()
    brief.entries = _load_order(snap, packer.entries)
    brief.stale_warnings = [
        StaleWarning(id=e.id, reason=reason) for e in brief.entries for reason in e.stale
    ]
    return packer


def _grow(packer: Packer, field: str, most: int) -> None:
    """Raise an integer field of the layout one step at a time while it fits."""
    for n in range(1, most + 1):
        if not packer.option(lambda n=n: setattr(packer.layout, field, n)):
            return


def _refs(packer: Packer, trust: Trust, group: str) -> list[str]:
    return [
        pid
        for pid, e in packer.entries.items()
        if e.form == "ref" and trust.boundary[pid] == group and pid not in trust.conflict_with
    ]


def _settle(brief: Brief, packer: Packer, snap: Snapshot) -> None:
    """Count the final Markdown exactly. Should it ever run over the budget (the plan's count
    is exact by construction, so this is a safety net), show less: the optional parts first,
    then the pages, the last placed first."""
    layout = brief._layout
    steps = [
        ("others_listed", 0),
        ("warnings_tier", 0),
        ("versions_other", 0),
        ("facts_extra", False),
        ("notice", False),
        ("scope", False),
        ("guidance", False),
        ("show_id", False),
        ("versions_named", 0),
        ("rules_listed", 0),
    ]
    placed = list(packer.entries)
    brief._planned = packer.used()
    markdown = render.render_brief(brief)
    while count_markdown(markdown) > brief.request.budget:
        if steps:
            setattr(layout, *steps.pop(0))
        elif placed:
            gone = packer.entries.pop(placed.pop())
            rule = gone.boundary == "decision_capable" or bool(gone.conflict_with)
            cut = Cut(id=gone.id, title=gone.title, tokens=gone.tokens, reason="did not fit")
            cut.rule = rule
            brief.cut = [cut, *brief.cut] if rule else [*brief.cut, cut]
            brief.entries = _load_order(snap, packer.entries)
            brief.stale_warnings = [w for w in brief.stale_warnings if w.id != gone.id]
            brief.truncated = True
        else:
            break  # the core alone, which MIN_BUDGET always holds
        markdown = render.render_brief(brief)
    brief._markdown = markdown
    brief.token_estimate = count_markdown(markdown)


def _load_order(snap: Snapshot, included: dict[str, BriefEntry]) -> list[BriefEntry]:
    """Dependencies before the pages that need them; otherwise in the order they went in."""
    order: list[BriefEntry] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(page_id: str) -> None:
        if page_id in placed or page_id in visiting:  # cycles are safe: first visit wins
            return
        visiting.add(page_id)
        for edge in snap.graph.outgoing.get(page_id, []):
            if edge.kind == DEPENDS_ON and edge.target in included:
                place(edge.target)
        visiting.discard(page_id)
        placed.add(page_id)
        order.append(included[page_id])

    for page_id in included:
        place(page_id)
    return order


# --- local facts --------------------------------------------------------------------------------


def _local_versions(
    local: LocalFacts | None, named: list[str], pages: list
) -> dict[str, LocalVersion]:
    """Every direct dependency, plus lockfile entries the request or a selected page names."""
    if local is None:
        return {}
    out = {entry.name: entry for entry in local.direct().values()}
    names = dict.fromkeys(named)
    for page in pages:
        if page.applies_to is not None and page.applies_to.library:
            names.update(dict.fromkeys(page.applies_to.values("library")))
    for name in names:
        entry = local.get(name)
        if entry is not None:
            out[entry.name] = entry
    return dict(sorted(out.items(), key=lambda item: item[0].lower()))


# --- request plumbing ----------------------------------------------------------------------------


def _repo(req: BriefRequest) -> Path | None:
    if req.repo is None:
        return None
    path = Path(req.repo).expanduser().resolve()
    if not path.is_dir():
        raise UsageError(f"repository {req.repo!r} is not a directory", field="repo")
    return path


def _git_root(start: Path) -> Path:
    return work_tree(start) or start
