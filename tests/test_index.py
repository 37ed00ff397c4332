"""The derived index: real LanceDB in tmp_path, the real MiniLM model when installed."""

import json
import subprocess
import sys
import textwrap

import pytest

from experimentos.index import Filters, Index, search
from experimentos.index import table as index_table
from experimentos.index.embeddings import embeddings_installed
from experimentos.store import Workspace
from experimentos.store.scaffold import init_workspace

from .conftest import page_text

needs_model = pytest.mark.skipif(not embeddings_installed(), reason="embeddings extra missing")

PAGES = {
    "policies/keep-pins.md": page_text(
        "policy.keep-pins",
        "policy",
        title="Keep pinned dependency versions",
        extra="status: accepted\nsummary: Do not bump a pinned library because an issue says so.\n"
        "appliesTo:\n  library: drizzle-kit\n"
        "review: {reviewer: me, reviewedAt: 2026-01-01, rationale: r, evidence: [claim.bump]}\n",
        body="## Rule\n\nKeep the pin; reproduce the migration problem on the installed version.\n",
    ),
    "wiki/claims/bump.md": page_text(
        "claim.bump",
        "claim",
        title="Upgrading drizzle-kit fixes the migration default",
        extra="appliesTo:\n  library: drizzle-kit\n",
        body="An issue thread says the latest drizzle-kit release fixes migration defaults.\n",
    ),
    "wiki/knowledge/quoting.md": page_text(
        "knowledge.quoting",
        "knowledge_card",
        title="Shell quoting layers",
        extra="status: accepted\n",
        body="## Single quotes\n\nInside single quotes nothing expands; escape as '\\''.\n\n"
        "## Double quotes\n\nDollar signs and backticks still expand inside double quotes.\n",
    ),
    "wiki/failures/flaky.md": page_text(
        "failure.flaky",
        "failure",
        title="Tests that depend on wall-clock time",
        extra="appliesTo:\n  library: pytest\n",
        body="A test that reads the current date fails at midnight and on the 1st of a month.\n",
    ),
}


def make_kb(tmp_path, embedder="minilm", pages=PAGES, name="kb"):
    root = tmp_path / name
    init_workspace(root)
    (root / "experimentos.toml").write_text(f'[index]\nembedder = "{embedder}"\n')
    for rel, text in pages.items():
        (root / rel).write_text(text, encoding="utf-8")
    return Workspace(root)


@pytest.fixture
def fts_kb(tmp_path):
    return make_kb(tmp_path, embedder="none")


@pytest.fixture
def hybrid_kb(tmp_path):
    if not embeddings_installed():
        pytest.skip("embeddings extra missing")
    return make_kb(tmp_path)


def ids(response):
    return [hit.id for hit in response.results]


def test_sync_tracks_every_change_kind(fts_kb):
    index = Index(fts_kb)
    first = index.sync()
    assert (first.added, first.unchanged, first.rebuilt) == (4, 0, True)
    assert first.pages == 4 and first.chunks == 0  # no vectors in full-text-only mode
    again = index.sync()
    assert (again.added, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 4)
    assert not again.changed

    root = fts_kb.root
    (root / "wiki/failures/new.md").write_text(page_text("failure.new", "failure"))
    path = root / "wiki/claims/bump.md"
    path.write_text(path.read_text().replace("latest", "newest"))
    (root / "wiki/failures/flaky.md").unlink()
    quoting = (root / "wiki/knowledge/quoting.md").read_text()
    (root / "wiki/knowledge/quoting.md").unlink()
    (root / "wiki/knowledge/quoting-layers.md").write_text(
        quoting.replace("knowledge.quoting", "knowledge.quoting-layers")
    )
    summary = index.sync()
    assert (summary.added, summary.updated, summary.deleted, summary.renamed) == (1, 1, 1, 1)
    assert summary.unchanged == 1
    assert sorted(ids(search(index, "pinned quoting newest flaky new", mode="fts", limit=20))) == [
        "claim.bump",
        "knowledge.quoting-layers",
        "policy.keep-pins",
    ]


def test_invalid_pages_are_skipped_and_reported(fts_kb):
    index = Index(fts_kb)
    index.sync()
    (fts_kb.root / "wiki/claims/bump.md").write_text("---\nid: [broken\n---\n")
    summary = index.sync()
    assert summary.invalid == 1 and summary.problems[0].path == "wiki/claims/bump.md"
    assert "claim.bump" not in ids(search(index, "drizzle-kit", mode="fts"))


def test_no_change_sync_does_not_open_lancedb(fts_kb, monkeypatch):
    Index(fts_kb).sync()
    fresh = Index(fts_kb)
    monkeypatch.setattr(fresh, "_connect", lambda: pytest.fail("LanceDB opened"))
    assert fresh.sync().unchanged == 4


def test_search_answers_from_fresh_content_right_after_an_edit(fts_kb):
    index = Index(fts_kb)
    assert ids(search(index, "zanzibar", mode="fts")) == []
    path = fts_kb.root / "wiki/failures/flaky.md"
    path.write_text(path.read_text().replace("midnight", "midnight in zanzibar"))
    assert ids(search(index, "zanzibar", mode="fts")) == ["failure.flaky"]
    path.unlink()
    assert ids(search(index, "zanzibar", mode="fts")) == []


def test_filters_apply_inside_the_search(fts_kb):
    index = Index(fts_kb)
    query = "drizzle-kit migration pinned quoting time"
    assert ids(search(index, query, mode="fts", filters=Filters(type="claim"))) == ["claim.bump"]
    accepted = ids(search(index, query, mode="fts", filters=Filters(status="accepted")))
    assert sorted(accepted) == ["knowledge.quoting", "policy.keep-pins"]
    # pages without a library restriction apply to every library
    drizzle = ids(search(index, query, mode="fts", filters=Filters(library="Drizzle-Kit")))
    assert sorted(drizzle) == ["claim.bump", "knowledge.quoting", "policy.keep-pins"]
    both = Filters(library="drizzle-kit", type="policy", status="accepted")
    assert ids(search(index, query, mode="fts", filters=both)) == ["policy.keep-pins"]
    # the filter is a where-clause: a limit of 1 still finds the one matching page
    only = search(index, query, mode="fts", limit=1, filters=Filters(type="failure"))
    assert ids(only) == ["failure.flaky"]


def test_results_are_grouped_by_page(fts_kb):
    hits = search(Index(fts_kb), "quotes expand", mode="fts").results
    assert [h.id for h in hits].count("knowledge.quoting") == 1
    assert hits[0].heading in ("Single quotes", "Double quotes")
    assert "quote" in hits[0].snippet.lower()


@pytest.mark.parametrize("bad", [{"type": "widget"}, {"status": "maybe"}, {"library": "a' OR 1=1"}])
def test_bad_filters_are_usage_errors(fts_kb, bad):
    from experimentos.errors import UsageError

    with pytest.raises(UsageError):
        search(Index(fts_kb), "x", filters=Filters(**bad))


def test_full_text_only_mode_says_so(fts_kb):
    response = search(Index(fts_kb), "drizzle-kit migration", mode="hybrid")
    assert response.mode == "fts"
    assert 'embedder = "none"' in response.notice
    assert ids(response)[0] in ("claim.bump", "policy.keep-pins")


def test_missing_extra_falls_back_to_full_text_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr("experimentos.index.embeddings.embeddings_installed", lambda: False)
    kb = make_kb(tmp_path, embedder="minilm")
    response = search(Index(kb), "shell quoting", mode="vector")
    assert response.mode == "fts"
    assert "embeddings extra is not installed" in response.notice
    assert ids(response)[0] == "knowledge.quoting"


def test_rebuild_on_schema_change_and_corruption(fts_kb, monkeypatch):
    index = Index(fts_kb)
    index.sync()
    monkeypatch.setattr(index_table, "SCHEMA_VERSION", 99)
    summary = Index(fts_kb).sync()
    assert summary.rebuilt and "schema" in summary.notice and summary.added == 4
    monkeypatch.undo()
    Index(fts_kb).sync()  # back to the real schema version
    for data in (fts_kb.root / ".experimentos/index/lance").rglob("*.lance"):
        if data.is_file():
            data.unlink()
    response = search(Index(fts_kb), "shell quoting", mode="fts")
    assert "unreadable" in response.notice
    assert ids(response)[0] == "knowledge.quoting"
    (fts_kb.root / ".experimentos/index/meta.json").write_text("{not json")
    summary = Index(fts_kb).sync()
    assert summary.rebuilt and "unreadable" in summary.notice


def test_compaction_bounds_table_versions(fts_kb, monkeypatch):
    monkeypatch.setattr(index_table, "VERSION_RETENTION_SECONDS", 0)
    monkeypatch.setattr(index_table, "OPTIMIZE_EVERY", 3)
    index = Index(fts_kb)
    path = fts_kb.root / "wiki/failures/flaky.md"
    original = path.read_text()
    counts = []
    for i in range(12):
        path.write_text(original.replace("midnight", f"midnight {i}"))
        index.sync()
        counts.append(index.stats()["pages_versions"])
    assert max(counts[6:]) <= max(counts[:6])
    assert index.stats()["pages_versions"] < 3 * 3 + 2
    assert ids(search(index, "midnight", mode="fts")) == ["failure.flaky"]


def test_concurrent_syncs_do_not_corrupt_the_index(tmp_path):
    pages = dict(PAGES)
    for i in range(60):
        pages[f"wiki/failures/f{i}.md"] = page_text(f"failure.f{i}", "failure", title=f"F {i}")
    kb = make_kb(tmp_path, embedder="none", pages=pages)
    script = textwrap.dedent(
        f"""
        from experimentos.index import Index
        from experimentos.store import Workspace
        print(Index(Workspace({str(kb.root)!r})).sync().added)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    added = sorted(int(p.communicate(timeout=120)[0]) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert added == [0, 0, 64]  # one built it; the others waited, then had nothing to do
    table = Index(kb).table()
    page_ids = table.search().select(["page_id"]).limit(None).to_arrow()["page_id"].to_pylist()
    assert len(page_ids) == len(set(page_ids)) == 64


@needs_model
def test_hybrid_search_with_the_real_model(hybrid_kb):
    index = Index(hybrid_kb)
    summary = index.sync()
    assert summary.mode == "hybrid" and summary.embedded == summary.chunks
    # no shared words with the page: only the vector side can find it
    vector = search(index, "apostrophe escaping in bash", mode="vector", limit=1)
    assert vector.mode == "vector" and ids(vector) == ["knowledge.quoting"]
    hybrid = search(index, "should I upgrade drizzle-kit for the migration bug", limit=4)
    assert hybrid.mode == "hybrid" and hybrid.notice == ""
    assert set(ids(hybrid)[:2]) == {"claim.bump", "policy.keep-pins"}
    assert len(ids(hybrid)) == len(set(ids(hybrid)))


@needs_model
def test_edit_reembeds_only_changed_chunks(hybrid_kb):
    index = Index(hybrid_kb)
    index.sync()
    path = hybrid_kb.root / "wiki/knowledge/quoting.md"
    path.write_text(path.read_text().replace("backticks", "backticks and $(…)"))
    summary = index.sync()
    assert (summary.updated, summary.embedded) == (1, 1)


@needs_model
def test_rebuild_when_the_embedding_model_changes(hybrid_kb):
    Index(hybrid_kb).sync()
    meta_path = hybrid_kb.root / ".experimentos/index/meta.json"
    meta = json.loads(meta_path.read_text())
    meta["embedder"] = "some-other-model"
    meta_path.write_text(json.dumps(meta))
    summary = Index(hybrid_kb).sync()
    assert summary.rebuilt and "embedder changed" in summary.notice
    # switching to full-text only is a model change too
    (hybrid_kb.root / "experimentos.toml").write_text('[index]\nembedder = "none"\n')
    summary = Index(Workspace(hybrid_kb.root)).sync()
    assert summary.rebuilt and summary.mode == "fts"


def test_cli_index_and_search(fts_kb, cli):
    result = cli(fts_kb.root, "index", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("added", "updated", "deleted", "unchanged", "chunks", "seconds", "mode"):
        assert key in data
    assert data["added"] == 4 and data["mode"] == "fts"
    assert cli(fts_kb.root, "index", "--rebuild", "--json").exit_code == 0
    found = cli(fts_kb.root, "search", "shell quoting", "--json", "--type", "knowledge")
    assert found.exit_code == 0, found.output
    body = json.loads(found.stdout)
    assert body["mode"] == "fts"
    assert set(body["results"][0]) == {
        "id",
        "type",
        "title",
        "status",
        "score",
        "heading",
        "snippet",
    }
    assert "knowledge.quoting" in cli(fts_kb.root, "search", "quoting").stdout
    assert cli(fts_kb.root, "search", " ").exit_code == 2
    assert cli(fts_kb.root, "search", "x", "--mode", "magic").exit_code == 2
    assert cli(fts_kb.root, "search", "x", "--status", "maybe").exit_code == 2


def test_unknown_embedder_is_a_usage_error(tmp_path, cli):
    kb = make_kb(tmp_path, embedder="word2vec")
    result = cli(kb.root, "index")
    assert result.exit_code == 2 and "index.embedder" in result.stderr


def test_fusion_functions_by_hand():
    from experimentos.index.search import convex_fusion, reciprocal_rank_fusion

    fts = [("a", 10.0), ("b", 6.0), ("c", 2.0)]
    vec = [("c", 0.9), ("a", 0.5)]
    fused = convex_fusion(fts, vec)
    # a: 0.5*1 + 0.5*0 ; b: 0.5*0.5 ; c: 0.5*0 + 0.5*1
    assert fused == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.5})
    assert convex_fusion([("x", 3.0)], []) == {"x": 0.5}
    rrf = reciprocal_rank_fusion(fts, vec, k=60)
    assert rrf == pytest.approx({"a": 1 / 61 + 1 / 62, "b": 1 / 62, "c": 1 / 63 + 1 / 61})


@needs_model
def test_rrf_fusion_can_be_configured(hybrid_kb):
    (hybrid_kb.root / "experimentos.toml").write_text('[index]\nfusion = "rrf"\n')
    index = Index(Workspace(hybrid_kb.root))
    response = search(index, "should I upgrade drizzle-kit for the migration bug", limit=4)
    assert response.mode == "hybrid"
    assert set(ids(response)[:2]) == {"claim.bump", "policy.keep-pins"}
    assert response.results[0].score < 0.05  # an RRF score, not a normalised one


KILL_AT_MANIFEST = """
import os, signal, sys
from experimentos.index import table
from experimentos.store import Workspace

def die(self, meta):  # the rows are in LanceDB, the manifest is not written yet
    os.kill(os.getpid(), signal.SIGKILL)

table.Index._write_meta = die
table.Index(Workspace(sys.argv[1])).sync()
"""


@pytest.mark.parametrize("embedder", ["none", pytest.param("minilm", marks=needs_model)])
def test_a_kill_between_rows_and_manifest_leaves_no_duplicates(tmp_path, embedder):
    kb = make_kb(tmp_path, embedder=embedder)
    Index(kb).sync()
    # a new page, an edited page and a deleted page, synced by a process killed right after
    # it added the rows and before it wrote the manifest
    (kb.root / "wiki/failures/oom.md").write_text(
        page_text("failure.oom", "failure", title="Out of memory in the migration runner"),
        encoding="utf-8",
    )
    (kb.root / "wiki/claims/bump.md").write_text(
        page_text("claim.bump", "claim", title="Bumping drizzle-kit changes the migration"),
        encoding="utf-8",
    )
    (kb.root / "wiki/failures/flaky.md").unlink()
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_MANIFEST, str(kb.root)], capture_output=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr.decode()
    index = Index(kb)
    summary = index.sync()
    expected = {"policy.keep-pins", "claim.bump", "knowledge.quoting", "failure.oom"}
    for query in ("migration", "drizzle-kit", "memory runner"):
        hits = ids(search(index, query, mode="fts", limit=20))
        assert len(hits) == len(set(hits)), (query, hits)
    table = index.table()
    rows = table.search().select(["page_id"]).limit(None).to_arrow()["page_id"].to_pylist()
    assert sorted(rows) == sorted(expected)
    assert summary.pages == len(expected)
    if embedder != "none":
        chunks = index.table(index_table.CHUNKS).search().select(["id"]).limit(None).to_arrow()
        chunk_ids = chunks["id"].to_pylist()
        assert len(chunk_ids) == len(set(chunk_ids)) == summary.chunks
        assert {c.split("#")[0] for c in chunk_ids} == expected


def test_an_index_with_rows_its_manifest_does_not_list_is_rebuilt(fts_kb):
    index = Index(fts_kb)
    index.sync()
    table = index.table()
    table.add(table.search().where("page_id = 'claim.bump'").limit(None).to_arrow())  # a stray
    (fts_kb.root / "wiki/failures/oom.md").write_text(
        page_text("failure.oom", "failure", title="Out of memory"), encoding="utf-8"
    )
    summary = Index(fts_kb).sync()
    assert summary.rebuilt and "do not match its manifest" in summary.notice
    hits = ids(search(Index(fts_kb), "drizzle-kit migration", mode="fts", limit=20))
    assert hits.count("claim.bump") == 1 and summary.pages == 5


def test_a_sync_told_what_changed_reads_only_that_and_agrees_with_a_full_one(fts_kb):
    index = Index(fts_kb)
    index.sync()
    root = fts_kb.root
    (root / "wiki/failures/new.md").write_text(page_text("failure.new", "failure", body="zanzibar"))
    path = root / "wiki/claims/bump.md"
    path.write_text(path.read_text().replace("latest", "newest"))
    (root / "wiki/failures/flaky.md").unlink()
    (root / "wiki/knowledge/quoting.md").write_text("not a page any more")  # changed, unnamed
    told = {"wiki/failures/new.md", "wiki/claims/bump.md", "wiki/failures/flaky.md"}
    summary = index.sync(changed=told)
    assert (summary.added, summary.updated, summary.deleted, summary.invalid) == (1, 1, 1, 0)
    assert summary.unchanged == 2
    assert ids(search(index, "zanzibar", mode="fts", sync=False)) == ["failure.new"]
    assert "claim.bump" in ids(search(index, "newest", mode="fts", sync=False))
    # The page nobody named is caught by the next full sync.
    full = index.sync()
    assert (full.invalid, full.unchanged) == (1, 3)
    assert "knowledge.quoting" not in ids(search(index, "quotes", mode="fts", sync=False))
    assert full.problems[0].path == "wiki/knowledge/quoting.md"


def test_a_sync_reads_only_files_whose_stat_changed(fts_kb, monkeypatch):
    import os
    import time

    hour_ago = time.time() - 3600
    pages = sorted((fts_kb.root / "wiki").rglob("*.md")) + sorted(
        (fts_kb.root / "policies").glob("*.md")
    )
    for path in pages:
        os.utime(path, (hour_ago, hour_ago))
    index = Index(fts_kb)
    index.sync()
    reads: list[str] = []
    real = index_table.read_regular

    def counted(root, rel, **kw):
        if not str(rel).startswith(".experimentos/"):  # page files, not the manifest
            reads.append(str(rel))
        return real(root, rel, **kw)

    monkeypatch.setattr(index_table, "read_regular", counted)
    again = Index(fts_kb).sync()  # another process: no cached manifest, only the stats
    assert (again.unchanged, reads) == (4, [])
    path = fts_kb.root / "wiki/claims/bump.md"
    path.write_text(path.read_text().replace("latest", "newest release"))
    os.utime(path, (hour_ago + 60, hour_ago + 60))
    summary = Index(fts_kb).sync()
    assert (summary.updated, summary.unchanged, reads) == (1, 3, ["wiki/claims/bump.md"])
    # A file edited just now is read on every sync until its stat is old enough to trust.
    path.write_text(path.read_text() + "\nMore.\n")
    reads.clear()
    Index(fts_kb).sync()
    Index(fts_kb).sync()
    assert reads == ["wiki/claims/bump.md", "wiki/claims/bump.md"]


QUERIES = [
    "should I upgrade drizzle-kit for the migration bug",
    "apostrophe escaping in bash",
    "tests fail at midnight",
    "pinned library issue says so",
]


@needs_model
@pytest.mark.parametrize("fusion", ["convex", "rrf"])
def test_ranked_ids_are_what_search_returns_in_every_mode(hybrid_kb, fusion):
    from experimentos.index.search import rank_pages

    (hybrid_kb.root / "experimentos.toml").write_text(f'[index]\nfusion = "{fusion}"\n')
    index = Index(Workspace(hybrid_kb.root))
    index.sync()
    for warm in (False, True):  # LanceDB's vector search, then the in-memory scan
        index.warm = warm
        for mode in ("hybrid", "vector", "fts"):
            for query in QUERIES:
                for limit in (1, 3, 10):
                    for filters in (None, Filters(library="drizzle-kit")):
                        want = search(index, query, mode=mode, limit=limit, filters=filters)
                        got = rank_pages(index, query, mode=mode, limit=limit, filters=filters)
                        assert got.mode == want.mode and got.notice == want.notice
                        assert got.scores == [(h.id, h.score) for h in want.results], (
                            mode, query, limit, warm,
                        )  # fmt: skip


def test_ranked_ids_without_vectors_are_full_text_and_say_so(fts_kb):
    from experimentos.index.search import rank_pages

    index = Index(fts_kb)
    index.sync()  # the first sync's own notice aside
    want = search(index, "drizzle-kit migration default", limit=3)
    got = rank_pages(index, "drizzle-kit migration default", limit=3)
    assert got.mode == want.mode == "fts" and got.notice == want.notice != ""
    assert got.scores == [(h.id, h.score) for h in want.results] and got.scores
    from experimentos.errors import UsageError

    with pytest.raises(UsageError):
        rank_pages(index, "  ", limit=3)


def test_pages_with_equal_scores_come_in_one_order_whatever_the_index_holds(tmp_path):
    """Full-text scores tie for pages with the same words; LanceDB returns ties in any order
    (it varies from run to run), so a brief's candidates could vary for one request."""
    body = "The migration generator re-adds the default on every run.\n"
    pages = {  # files in the opposite order of their ids, so rows are not in id order
        f"wiki/failures/{chr(ord('a') + i)}.md": page_text(
            f"failure.tie-{25 - i:02d}", "failure", title="Migration default", body=body
        )
        for i in range(26)
    }
    ws = make_kb(tmp_path, embedder="none", pages=pages)
    index = Index(ws)
    index.sync()
    want = [f"failure.tie-{i:02d}" for i in range(26)]
    for limit in (26, 5, 1):
        for _ in range(5):
            response = search(index, "migration default", mode="fts", limit=limit)
            assert ids(response) == want[:limit]
