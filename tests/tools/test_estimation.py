"""Tests for tools.estimation (label-free performance) and tools.canary (sequential canary verdicts)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.canary import canary_verdict
from tools.estimation import estimate_performance
from tools.results import ToolInputError, ToolStatus


def _calibrated(n: int, seed: int, a: float = 1.0, b: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Scores ~ Beta(a, b), labels drawn with P(y=1) = score**2 (an over-confident model)."""
    rng = np.random.default_rng(seed)
    s = rng.beta(a, b, n)
    return (rng.random(n) < s**2).astype(int), s


@pytest.mark.parametrize("a, b", [(1, 1), (5, 5), (0.5, 2), (3, 1)])
def test_estimated_accuracy_tracks_realised_under_covariate_shift(a, b):
    ref_y, ref_s = _calibrated(5000, 1)
    cur_y, cur_s = _calibrated(3000, 2, a, b)
    res = estimate_performance(ref_y, ref_s, cur_s, current_labels=cur_y)
    f = res.figures
    assert res.tool == "estimate_performance" and res.ok
    assert abs(f["estimation_error"]) < 3 * f["accuracy_se"] + 0.01
    assert 0 <= f["estimated_f1"] <= 1 and 0 <= f["estimated_roc_auc"] <= 1


def test_estimate_on_reference_reproduces_reference_metrics():
    y, s = _calibrated(4000, 3)
    f = estimate_performance(y, s, s).figures
    assert f["estimated_accuracy"] == pytest.approx(f["reference_accuracy"], abs=0.01)
    assert f["estimated_roc_auc"] == pytest.approx(f["reference_roc_auc"], abs=0.02)
    assert f["estimated_drop"] == pytest.approx(0.0, abs=0.01)


def test_estimate_bad_and_short_input():
    y, s = _calibrated(200, 4)
    with pytest.raises(ToolInputError, match="NaN"):
        estimate_performance(y, s, np.r_[s, np.nan])
    with pytest.raises(ToolInputError, match="values"):
        estimate_performance(y, s[:-1], s)
    with pytest.raises(ToolInputError, match="current_labels"):
        estimate_performance(y, s, s, current_labels=y[:-1])
    assert estimate_performance(y[:50], s[:50], s).status == ToolStatus.INSUFFICIENT_DATA
    assert estimate_performance(np.ones(200, int), s, s).status == ToolStatus.INSUFFICIENT_DATA


def test_canary_fails_a_regression_and_passes_a_twin():
    rng = np.random.default_rng(5)
    base = rng.lognormal(4.0, 0.4, 3000)
    bad = canary_verdict(base, rng.lognormal(4.15, 0.4, 500))
    assert bad.tool == "canary" and bad.figures["verdict"] == "fail" and bad.figures["cohens_d"] > 0.2
    assert bad.figures["ci_low"] > 0 and bad.figures["p_value"] < 0.05
    assert canary_verdict(base, rng.lognormal(4.0, 0.4, 3000)).figures["verdict"] == "pass"
    assert canary_verdict(base, rng.lognormal(4.0, 0.4, 40)).figures["verdict"] == "continue"
    better = canary_verdict(base, rng.lognormal(3.8, 0.4, 500), higher_is_worse=True)
    assert better.figures["verdict"] == "pass"
    assert canary_verdict(base, rng.lognormal(3.8, 0.4, 500), higher_is_worse=False).figures["verdict"] == "fail"


def test_canary_false_failures_stay_below_alpha_under_repeated_looks():
    """A/A canaries looked at 30 times as samples grow: a fixed-sample z-test would fail far more than alpha."""
    rng = np.random.default_rng(6)
    failed = 0
    for _ in range(100):
        base, cand = rng.normal(100, 10, 3000), rng.normal(100, 10, 3000)
        failed += any(canary_verdict(base[:n], cand[:n], min_effect=1e-6, tau=1.0).figures["verdict"] == "fail"
                      for n in range(100, 3001, 100))
    assert failed <= 8  # alpha = 0.05 over 100 canaries


def test_canary_bad_and_short_input():
    with pytest.raises(ToolInputError, match="alpha"):
        canary_verdict(np.ones(50), np.ones(50), alpha=0)
    with pytest.raises(ToolInputError, match="inf"):
        canary_verdict(np.r_[np.ones(50), np.inf], np.ones(50))
    assert canary_verdict(np.ones(10), np.ones(50)).status == ToolStatus.INSUFFICIENT_DATA
    assert canary_verdict(np.ones(50), np.ones(50)).figures["verdict"] == "pass"  # constant and equal


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(0.1, 1e3), st.floats(-0.3, 0.3))
def test_canary_ci_contains_the_difference_and_p_is_a_probability(seed, scale, shift):
    rng = np.random.default_rng(seed)
    f = canary_verdict(rng.normal(10, 1, 200) * scale, rng.normal(10 + shift, 1, 200) * scale).figures
    assert f["ci_low"] <= f["difference"] <= f["ci_high"] and 0 <= f["p_value"] <= 1
    assert f["verdict"] in {"pass", "fail", "continue"}
