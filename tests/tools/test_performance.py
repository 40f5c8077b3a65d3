"""Tests for tools.performance: classification metrics and accuracy drops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.performance import classification_performance, performance_drop
from tools.results import ToolInputError, ToolStatus


def _scored(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores whose accuracy falls as ``noise`` rises."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    scores = np.clip(y + rng.normal(0, noise, n), 0, 1)
    return y, scores


def test_classification_performance_of_perfect_scores():
    res = classification_performance([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2])
    assert res.tool == "performance"
    assert res.figures["accuracy"] == 1.0 and res.figures["roc_auc"] == 1.0 and res.figures["f1"] == 1.0
    assert res.figures["n"] == 4


def test_roc_auc_is_none_with_one_class():
    res = classification_performance([1, 1, 1], [0.2, 0.7, 0.9])
    assert res.figures["roc_auc"] is None and res.figures["accuracy"] == pytest.approx(2 / 3)


def test_classification_performance_bad_input():
    with pytest.raises(ToolInputError, match="0 and 1"):
        classification_performance([0, 2], [0.1, 0.2])
    with pytest.raises(ToolInputError, match="values"):
        classification_performance([0, 1], [0.1])
    with pytest.raises(ToolInputError, match="NaN"):
        classification_performance([0, 1], [0.1, np.nan])
    assert classification_performance([], []).status == ToolStatus.INSUFFICIENT_DATA


def test_performance_drop_detects_degradation():
    ref = _scored(2000, 0.3, seed=1)
    cur = _scored(500, 0.6, seed=2)
    res = performance_drop(*ref, *cur)
    assert res.tool == "performance_drop"
    assert res.figures["degraded"] is True and res.figures["drop"] > 0.1 and res.figures["p_value"] < 1e-6
    assert res.figures["current_auc"] < res.figures["reference_auc"]
    assert res.figures["n_labels"] == 500


def test_performance_drop_quiet_when_nothing_changed():
    alarms = sum(
        performance_drop(*_scored(2000, 0.5, seed), *_scored(400, 0.5, seed + 1000)).figures["degraded"]
        for seed in range(30)
    )
    assert alarms <= 1


def test_performance_drop_needs_enough_labels():
    res = performance_drop(*_scored(2000, 0.3, 1), *_scored(50, 0.3, 2))
    assert res.status == ToolStatus.INSUFFICIENT_DATA and "100" in res.message


def test_performance_drop_bad_parameters():
    with pytest.raises(ToolInputError, match="min_labels"):
        performance_drop(*_scored(200, 0.3, 1), *_scored(200, 0.3, 2), min_labels=0)
    with pytest.raises(ToolInputError, match="alpha"):
        performance_drop(*_scored(200, 0.3, 1), *_scored(200, 0.3, 2), alpha=0)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 1.0), st.floats(0.05, 1.0))
def test_performance_drop_p_value_is_a_probability(seed, ref_noise, cur_noise):
    res = performance_drop(*_scored(150, ref_noise, seed), *_scored(150, cur_noise, seed + 1))
    assert 0.0 <= res.figures["p_value"] <= 1.0
    assert res.figures["degraded"] == (res.figures["drop"] >= 0.05 and res.figures["p_value"] < 0.01)
