"""MiniLM on ONNX Runtime: exported once from the packaged model, checked against
sentence-transformers, and used without importing torch."""

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from experimentos import progress
from experimentos.index import Index, search
from experimentos.index import onnx as onnx_mod
from experimentos.index.embeddings import EmbedderChoice, MiniLMEmbedder, embeddings_installed

from .test_index import make_kb

pytestmark = pytest.mark.skipif(
    not (embeddings_installed() and onnx_mod.runtime_installed() and onnx_mod.exporter_installed()),
    reason="the embeddings extra (with onnxruntime and onnx) is not installed",
)
TEXTS = [
    "bump drizzle-kit to fix the migration default",
    "Apostrophes break my bash command: 'it''s' vs \"it's\"",
    "ok",
    " ".join(["generated migrations re-add the default on users.created_at"] * 60),  # truncated
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An embedder that exported its graph into its own .experimentos/ (no shared cache)."""
    state = tmp_path_factory.mktemp("root") / ".experimentos"
    saved = os.environ.pop(onnx_mod.CACHE_ENV, None)
    shown = io.StringIO()  # what the one-time export shows on stderr
    stream = progress.reporter()._stream
    try:
        progress.reporter()._stream = shown
        embedder = MiniLMEmbedder(256, state)
        embedder.embed(["export the graph"])
        progress.reporter()._stream = stream
        embedder.export_progress = shown.getvalue()
        yield embedder, state
    finally:
        progress.reporter()._stream = stream
        if saved is not None:
            os.environ[onnx_mod.CACHE_ENV] = saved


def test_the_graph_is_exported_under_the_state_dir_and_agrees_with_sentence_transformers(
    exported,
):
    embedder, state = exported
    path = onnx_mod.graph_path(state)
    assert path.parent == state / "models" and path.is_file()
    # the one-time export says what it is doing, on stderr, start and end
    shown = embedder.export_progress.splitlines()
    exporting = [line for line in shown if "exporting it to ONNX" in line]
    assert exporting[0].endswith("…") and "done in" in exporting[-1], shown
    assert embedder.backend == "onnx" and not embedder.export_problem
    got = embedder.embed(TEXTS)
    want = embedder.model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    cosines = np.sum(got * want, axis=1)
    assert cosines.min() >= onnx_mod.MIN_COSINE, cosines
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # Batched with padding or one by one, the same vectors.
    single = np.vstack([embedder.embed([t]) for t in TEXTS])
    assert np.sum(single * got, axis=1).min() >= 0.99999


def test_a_graph_that_disagrees_with_the_model_is_refused(exported, tmp_path):
    embedder, _ = exported

    class Wrong:  # a reference model whose vectors point elsewhere
        def encode(self, texts, **_):
            return -embedder.model.encode(texts, normalize_embeddings=True)

    target = tmp_path / "graph.onnx"
    with pytest.raises(RuntimeError, match="disagrees"):
        onnx_mod.export_graph(target, Wrong(), 256)
    assert not target.exists() and not list(tmp_path.glob(".export.*"))


def test_a_cold_search_embeds_the_query_without_importing_torch(tmp_path):
    ws = make_kb(tmp_path)
    Index(ws).sync()  # builds the index, exporting the graph if this session has none yet
    script = textwrap.dedent(
        f"""
        import json, sys
        from experimentos.index import Index, search
        from experimentos.store import Workspace
        response = search(Index(Workspace({str(ws.root)!r})), "apostrophes in bash", mode="vector")
        print(json.dumps({{"ids": [h.id for h in response.results],
                          "torch": "torch" in sys.modules,
                          "sentence_transformers": "sentence_transformers" in sys.modules}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ
    )
    data = __import__("json").loads(out.stdout)
    assert data["ids"][0] == "knowledge.quoting"
    assert data["torch"] is False and data["sentence_transformers"] is False


def test_without_onnx_runtime_the_model_still_answers_on_torch(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_mod, "runtime_installed", lambda: False)
    embedder = MiniLMEmbedder(256, tmp_path / ".experimentos")
    assert embedder.backend == "torch"
    vector = embedder.embed_query("bump drizzle-kit")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert not (tmp_path / ".experimentos" / "models").exists()


def test_search_results_are_the_same_on_either_backend(tmp_path):
    ws = make_kb(tmp_path)
    index = Index(ws)
    index.sync()
    assert index.embedder.backend == "onnx"
    onnx_hits = search(index, "quoting dollar signs", mode="vector").results
    torch_only = MiniLMEmbedder(256, state_dir=None)  # no graph to look for: torch
    torch_index = Index(ws, choice=EmbedderChoice(torch_only, ""))
    torch_hits = search(torch_index, "quoting dollar signs", mode="vector").results
    assert torch_only.backend == "torch"
    assert [h.id for h in onnx_hits] == [h.id for h in torch_hits]
    assert [h.score for h in onnx_hits] == pytest.approx([h.score for h in torch_hits], abs=1e-4)


def test_a_symlinked_models_directory_is_never_used(tmp_path, monkeypatch):
    monkeypatch.delenv(onnx_mod.CACHE_ENV, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    state = tmp_path / "root" / ".experimentos"
    state.mkdir(parents=True)
    (state / "models").symlink_to(elsewhere)
    embedder = MiniLMEmbedder(256, state)
    vector = embedder.embed_query("keep the pin")
    assert vector.shape == (384,)
    assert embedder.backend == "torch" and "symlink" in embedder.export_problem
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
