"""The offline hashed text embedding shared by the incident memory and the semantic drift tool."""

from __future__ import annotations

import numpy as np
import pytest

from tools.results import ToolInputError
from tools.text_embedding import hashed_text_embedding


def test_rows_are_unit_vectors_and_empty_texts_get_their_own_dimension() -> None:
    vectors = hashed_text_embedding(["disk full on node 3", "", None, "a"], dims=64)
    assert vectors.shape == (4, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[1, -1] == vectors[2, -1] == 1.0  # "", None and "a" (no 2-letter word, no 3-gram) are empty
    assert vectors[0, -1] == 0.0


def test_shared_words_and_word_parts_meet_unrelated_texts_do_not() -> None:
    a, b, c = hashed_text_embedding(["feature drift detected", "drifted features", "replica scaled up"])
    assert a @ b > 0.3
    assert a @ c < a @ b


def test_no_texts_give_an_empty_matrix() -> None:
    assert hashed_text_embedding([], dims=32).shape == (0, 32)


@pytest.mark.parametrize("dims", [8, 17, True, "64"])
def test_bad_dims_are_refused(dims) -> None:
    with pytest.raises(ToolInputError, match="dims"):
        hashed_text_embedding(["x"], dims=dims)


def test_non_strings_are_refused() -> None:
    with pytest.raises(ToolInputError, match="strings"):
        hashed_text_embedding(["x", 3])  # type: ignore[list-item]
