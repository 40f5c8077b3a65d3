"""Tests for tools.data_quality: null rates and schema checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.data_quality import null_rates, schema_check
from tools.results import ToolInputError, ToolStatus


def _with_nulls(rates: list[float], n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(rates)))
    x[rng.random(x.shape) < np.asarray(rates)] = np.nan
    return x


def test_null_rates_flags_columns_above_threshold():
    res = null_rates(_with_nulls([0.0, 0.3, 0.01]), ["a", "b", "c"])
    assert res.tool == "null_rate" and res.ok
    assert res.figures["columns_with_nulls"] == ["b"]
    assert res.figures["max_feature"] == "b" and res.figures["max_null_rate"] == pytest.approx(0.3, abs=0.03)
    assert res.figures["null_rate"]["a"] == 0.0 and res.figures["n_rows"] == 2000


def test_null_rates_ignores_columns_as_null_as_their_reference():
    reference = _with_nulls([0.2, 0.0, 0.1], seed=1)
    current = _with_nulls([0.2, 0.3, 0.4], seed=2)
    res = null_rates(current, ["a", "b", "c"], reference=reference)
    assert res.figures["columns_with_nulls"] == ["b", "c"]
    assert res.figures["reference_null_rate"]["a"] == pytest.approx(0.2, abs=0.03)


def test_null_rates_empty_window_is_insufficient():
    res = null_rates(np.empty((0, 2)), ["a", "b"])
    assert res.status == ToolStatus.INSUFFICIENT_DATA


def test_null_rates_rejects_bad_input():
    with pytest.raises(ToolInputError, match="names"):
        null_rates(np.ones((5, 2)), ["a"])
    with pytest.raises(ToolInputError, match="inf"):
        null_rates(np.array([[1.0, np.inf]]), ["a", "b"])
    with pytest.raises(ToolInputError, match="columns"):
        null_rates(np.ones((5, 2)), ["a", "b"], reference=np.ones((5, 3)))
    with pytest.raises(ToolInputError, match="threshold"):
        null_rates(np.ones((5, 2)), ["a", "b"], threshold=2.0)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 200), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_null_rates_are_fractions(n, p, seed):
    x = _with_nulls([p], n=n, seed=seed)
    rate = null_rates(x, ["a"]).figures["null_rate"]["a"]
    assert 0.0 <= rate <= 1.0 and rate == pytest.approx(np.isnan(x).mean())


def test_schema_check_lists_missing_and_unexpected_columns():
    res = schema_check(["a", "b", "c"], ["a", "c", "d"])
    assert res.tool == "schema"
    assert res.figures == {"missing": ["b"], "unexpected": ["d"], "duplicated": [], "ok": False}
    assert schema_check(["a", "b"], ["b", "a"]).figures["ok"] is True


def test_schema_check_catches_duplicates_and_bad_input():
    assert schema_check(["a"], ["a", "a"]).figures["duplicated"] == ["a"]
    with pytest.raises(ToolInputError):
        schema_check("abc", ["a"])
    with pytest.raises(ToolInputError):
        schema_check(["a"], [1])
