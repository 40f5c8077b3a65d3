"""Offline text embedding: L2-normalised hashed word and character n-grams (no model, no network).

Half the dimensions hold words (1-2 grams), half less one character n-grams (3-5, within words), so
"drifted" still meets "drift"; the last dimension marks an empty text, which keeps cosine distance
defined. It matches shared vocabulary only: synonyms do not meet. The incident memory and the
semantic drift tool both use it when no better embedding is installed or given.

>>> vectors = hashed_text_embedding(["disk full on node 3", "disk almost full", ""], dims=64)
>>> vectors.shape, bool(abs((vectors**2).sum(axis=1) - 1).max() < 1e-9)
((3, 64), True)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer

from tools.results import ToolInputError


@lru_cache(maxsize=8)
def _vectorizers(dims: int) -> tuple[HashingVectorizer, HashingVectorizer]:
    half = dims // 2
    words = HashingVectorizer(n_features=half, analyzer="word", ngram_range=(1, 2), stop_words="english",
                              alternate_sign=False, norm="l2", token_pattern=r"(?u)\b\w\w+\b")
    chars = HashingVectorizer(n_features=half - 1, analyzer="char_wb", ngram_range=(3, 5),
                              alternate_sign=False, norm="l2")
    return words, chars


def check_dims(dims: object) -> int:
    """``dims`` if it is an even integer of at least 16, else ToolInputError."""
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 16 or dims % 2:
        raise ToolInputError(f"dims must be an even number of at least 16, not {dims!r}")
    return dims


def hashed_text_embedding(texts: Sequence[str | None], dims: int = 512) -> np.ndarray:
    """An (n, dims) float64 matrix of unit rows for ``texts`` (None counts as an empty text)."""
    check_dims(dims)
    cleaned = [text or "" for text in texts]
    if not all(isinstance(text, str) for text in cleaned):
        raise ToolInputError("texts must be strings")
    if not cleaned:
        return np.zeros((0, dims))
    words, chars = _vectorizers(dims)
    word_part, char_part = words.transform(cleaned).toarray(), chars.transform(cleaned).toarray()
    empty = ((word_part.sum(axis=1) + char_part.sum(axis=1)) == 0).astype(float)[:, None]
    matrix = np.hstack([word_part, char_part, empty])
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
