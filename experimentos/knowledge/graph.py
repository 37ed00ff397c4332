"""The knowledge graph: edges from frontmatter and [[page-id]] body links.

Closure, reverse dependencies and cycle detection never crash on a missing target: missing
targets are reported alongside the answer.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass, field

from experimentos.models.knowledge import PREFIX_TYPE, Page

DEPENDS_ON = "dependsOn"
BODY_LINK = "link"
_LINK_RE = re.compile(r"\[\[([a-z][a-z_]*\.[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?:\|[^\]\n]*)?\]\]")


def body_links(body: str) -> list[str]:
    """Ids linked from a page body as [[page-id]] or [[page-id|label]], in order, once each."""
    return list(dict.fromkeys(_LINK_RE.findall(body)))


def is_page_ref(ref: str) -> bool:
    """Whether a reference names a knowledge page (as opposed to a run, experiment, …)."""
    return ref.split(".", 1)[0] in PREFIX_TYPE


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str  # a frontmatter edge name (dependsOn, mitigates, …) or "link"


@dataclass
class ClosureNode:
    id: str
    depth: int
    via: str | None  # the page that pulled this one in (None for the root)


@dataclass
class Closure:
    root: str
    nodes: list[ClosureNode] = field(default_factory=list)  # breadth-first, root first
    missing: list[Edge] = field(default_factory=list)  # edges whose target is not a page
    # Edges the depth limit stopped: from a page at the last level to one not loaded.
    beyond: list[Edge] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]


def page_edges(page: Page) -> list[Edge]:
    """The edges a page declares: its frontmatter edges, then its body links."""
    out = [
        Edge(page.id, target, kind) for kind, targets in page.edges().items() for target in targets
    ]
    out += [Edge(page.id, target, BODY_LINK) for target in body_links(page.body)]
    return out


class Graph:
    """Edges between the pages of one scan."""

    def __init__(self, pages: dict[str, Page]):
        self.pages = pages
        self.edges: list[Edge] = []
        self.outgoing: dict[str, list[Edge]] = defaultdict(list)
        self.incoming: dict[str, list[Edge]] = defaultdict(list)
        for page in pages.values():
            for edge in page_edges(page):
                self._add(edge)

    @classmethod
    def updated(cls, previous: Graph, pages: dict[str, Page], changed: set[str]) -> Graph:
        """The graph of `pages`, built from `previous` (the graph before the pages whose ids
        are in `changed` were edited, added or removed): only their edges are recomputed."""
        graph = cls.__new__(cls)
        graph.pages = pages
        # Shallow copies: the lists are shared with `previous` and are replaced, never changed.
        graph.outgoing = defaultdict(list, previous.outgoing)
        graph.incoming = defaultdict(list, previous.incoming)
        for page_id in changed:
            for edge in graph.outgoing.pop(page_id, []):
                kept = [e for e in graph.incoming.get(edge.target, []) if e.source != page_id]
                graph.incoming[edge.target] = kept
        for page_id in changed:
            if page_id in pages:
                edges = page_edges(pages[page_id])
                graph.outgoing[page_id] = edges
                for edge in edges:
                    graph.incoming[edge.target] = [*graph.incoming.get(edge.target, []), edge]
        # The edge list in page order, as a fresh build would make it.
        graph.edges = [e for pid in pages for e in graph.outgoing.get(pid, [])]
        return graph

    def _add(self, edge: Edge) -> None:
        self.edges.append(edge)
        self.outgoing[edge.source].append(edge)
        self.incoming[edge.target].append(edge)

    def missing(self) -> list[Edge]:
        """Edges to page ids that do not exist (references to runs etc. are not pages)."""
        return [e for e in self.edges if is_page_ref(e.target) and e.target not in self.pages]

    def closure(
        self, root: str, depth: int | None = None, kinds: tuple[str, ...] = (DEPENDS_ON,)
    ) -> Closure:
        """Everything `root` depends on, breadth-first, up to `depth` hops (None: unbounded)."""
        result = Closure(root=root, nodes=[ClosureNode(root, 0, None)])
        seen = {root}
        queue = deque([(root, 0)])
        stopped: list[str] = []
        while queue:
            current, level = queue.popleft()
            if depth is not None and level >= depth:
                stopped.append(current)
                continue
            for edge in self.outgoing.get(current, []):
                if edge.kind not in kinds:
                    continue
                if edge.target not in self.pages:
                    result.missing.append(edge)
                    continue
                if edge.target in seen:
                    continue
                seen.add(edge.target)
                result.nodes.append(ClosureNode(edge.target, level + 1, current))
                queue.append((edge.target, level + 1))
        for current in stopped:
            for edge in self.outgoing.get(current, []):
                if edge.kind in kinds and edge.target in self.pages and edge.target not in seen:
                    result.beyond.append(edge)
        return result

    def reverse(
        self, target: str, depth: int | None = None, kinds: tuple[str, ...] = (DEPENDS_ON,)
    ) -> list[ClosureNode]:
        """Pages that depend on `target` (directly with depth 1, transitively with more)."""
        out: list[ClosureNode] = []
        seen = {target}
        queue = deque([(target, 0)])
        while queue:
            current, level = queue.popleft()
            if depth is not None and level >= depth:
                continue
            for edge in sorted(self.incoming.get(current, []), key=lambda e: e.source):
                if edge.kind in kinds and edge.source not in seen:
                    seen.add(edge.source)
                    out.append(ClosureNode(edge.source, level + 1, current))
                    queue.append((edge.source, level + 1))
        return out

    def cycles(self, kind: str = DEPENDS_ON) -> list[list[str]]:
        """Each cycle along `kind` edges once, as a path that returns to its first id."""
        succ = {
            pid: sorted(
                {e.target for e in self.outgoing.get(pid, []) if e.kind == kind} & self.pages.keys()
            )
            for pid in sorted(self.pages)
        }
        cycles = []
        for component in _strongly_connected(succ):
            members = set(component)
            start = min(component)
            if len(component) == 1 and start not in succ[start]:
                continue
            cycles.append(_cycle_path(start, succ, members))
        return sorted(cycles)


def _strongly_connected(succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a long chain cannot exhaust the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in succ:
        if start in index:
            continue
        work = [(start, iter(succ[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _cycle_path(start: str, succ: dict[str, list[str]], members: set[str]) -> list[str]:
    """A shortest path start -> … -> start inside one strongly connected component."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in succ[node]:
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if child not in parents:
                parents[child] = node
                queue.append(child)
    return [start, start]
