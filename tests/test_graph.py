from experimentos.knowledge.graph import Graph, body_links
from experimentos.models.knowledge import Page, PageType


def page(pid: str, depends=(), body: str = "", **edges) -> Page:
    prefix = pid.split(".")[0]
    page_type = PageType.knowledge_card if prefix == "knowledge" else PageType(prefix)
    return Page(id=pid, type=page_type, title=pid, depends_on=list(depends), body=body, **edges)


def graph(*pages: Page) -> Graph:
    return Graph({p.id: p for p in pages})


def test_closure_respects_depth_and_reports_missing():
    g = graph(
        page("policy.a", ["failure.b", "failure.gone"]),
        page("failure.b", ["knowledge.c"]),
        page("knowledge.c", ["source.d"]),
        page("source.d"),
    )
    full = g.closure("policy.a")
    assert full.ids == ["policy.a", "failure.b", "knowledge.c", "source.d"]
    assert [n.depth for n in full.nodes] == [0, 1, 2, 3]
    assert [(e.source, e.target) for e in full.missing] == [("policy.a", "failure.gone")]
    assert g.closure("policy.a", depth=1).ids == ["policy.a", "failure.b"]
    assert g.closure("policy.a", depth=0).ids == ["policy.a"]


def test_closure_is_safe_on_cycles():
    g = graph(page("failure.a", ["failure.b"]), page("failure.b", ["failure.a"]))
    assert g.closure("failure.a").ids == ["failure.a", "failure.b"]


def test_cycles_are_found_once_each():
    g = graph(
        page("failure.a", ["failure.b"]),
        page("failure.b", ["failure.c"]),
        page("failure.c", ["failure.a"]),
        page("failure.self", ["failure.self"]),
        page("failure.x", ["failure.a"]),  # points into a cycle, is not part of it
    )
    assert g.cycles() == [
        ["failure.a", "failure.b", "failure.c", "failure.a"],
        ["failure.self", "failure.self"],
    ]


def test_long_chain_does_not_exhaust_the_stack():
    n = 5000
    pages = [page(f"failure.p{i}", [f"failure.p{i + 1}"]) for i in range(n)]
    pages.append(page(f"failure.p{n}", ["failure.p0"]))
    cycles = graph(*pages).cycles()
    assert len(cycles) == 1 and len(cycles[0]) == n + 2


def test_reverse_dependencies():
    g = graph(
        page("policy.a", ["failure.b"]),
        page("intervention.x", ["failure.b"]),
        page("policy.top", ["policy.a"]),
        page("failure.b"),
    )
    assert [n.id for n in g.reverse("failure.b", depth=1)] == ["intervention.x", "policy.a"]
    assert [n.id for n in g.reverse("failure.b")] == ["intervention.x", "policy.a", "policy.top"]


def test_body_links_and_other_edges():
    p = page(
        "policy.a",
        body="See [[failure.b]] and [[knowledge.c|the card]]; [[failure.b]] again. [[not a link]]",
        mitigates=["failure.b"],
    )
    assert body_links(p.body) == ["failure.b", "knowledge.c"]
    g = graph(p, page("failure.b"))
    kinds = sorted((e.kind, e.target) for e in g.edges)
    assert kinds == [("link", "failure.b"), ("link", "knowledge.c"), ("mitigates", "failure.b")]
    assert [e.target for e in g.missing()] == ["knowledge.c"]


def test_references_to_runs_are_not_missing_pages():
    g = graph(page("policy.a", validated_by=["run.2026-01-01-abc"]))
    assert g.missing() == []


def test_an_updated_graph_equals_a_fresh_build():
    before = {
        p.id: p
        for p in (
            page("policy.a", ["failure.b"], body="See [[knowledge.c]]."),
            page("failure.b", ["knowledge.c"]),
            page("knowledge.c", ["source.d"]),
            page("source.d"),
        )
    }
    old = Graph(before)
    after = dict(before)
    after["policy.a"] = page("policy.a", ["knowledge.c", "failure.gone"], contradicts=["failure.b"])
    del after["source.d"]
    after["claim.e"] = page("claim.e", body="Links [[policy.a]] and [[source.d]].")
    new = Graph.updated(old, after, {"policy.a", "source.d", "claim.e"})
    fresh = Graph(after)

    def norm(g: Graph) -> tuple:
        def lists(d):
            return {k: sorted(map(repr, v)) for k, v in d.items() if v}

        return sorted(map(repr, g.edges)), lists(g.outgoing), lists(g.incoming)

    assert norm(new) == norm(fresh)
    assert sorted((e.source, e.target) for e in new.missing()) == [
        ("claim.e", "source.d"),
        ("knowledge.c", "source.d"),
        ("policy.a", "failure.gone"),
    ]
    # The old graph is untouched.
    assert [e.target for e in old.outgoing["policy.a"]] == ["failure.b", "knowledge.c"]
    assert any(e.source == "knowledge.c" for e in old.incoming["source.d"])
