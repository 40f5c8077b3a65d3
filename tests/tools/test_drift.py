"""Tests for tools.drift: PSI, KS drift and prediction drift."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tools.drift import ks_drift, prediction_drift, psi
from tools.results import ToolInputError, ToolStatus

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _windows(seed: int = 0, n: int = 2000, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ref = rng.normal(size=(n, 3))
    cur = rng.normal(size=(n, 3))
    cur[:, 1] += shift
    return ref, cur


def test_psi_flags_only_the_shifted_feature():
    ref, cur = _windows(shift=1.0)
    res = psi(ref, cur, feature_names=["a", "b", "c"])
    assert res.ok and res.tool == "psi"
    assert res.figures["drifted"] == ["b"]
    assert res.figures["max_feature"] == "b"
    assert res.figures["psi"]["b"] > 0.5 > 0.05 > max(res.figures["psi"]["a"], res.figures["psi"]["c"])
    assert res.figures["n_reference"] == res.figures["n_current"] == 2000
    json.dumps(res.figures)


def test_psi_no_drift_between_samples_of_one_distribution():
    for seed in range(5):
        ref, cur = _windows(seed)
        assert psi(ref, cur).figures["drifted"] == []


def test_psi_accepts_1d():
    rng = np.random.default_rng(1)
    res = psi(rng.normal(size=500), rng.normal(2, 1, size=500))
    assert list(res.figures["psi"]) == ["feature_0"] and res.figures["drifted"] == ["feature_0"]


def test_psi_constant_reference_detects_a_move_off_the_constant():
    ref = np.zeros(200)
    assert psi(ref, ref).figures["max_psi"] == pytest.approx(0.0)
    assert psi(ref, np.ones(200)).figures["drifted"] == ["feature_0"]
    assert psi(ref, -np.ones(200)).figures["drifted"] == ["feature_0"]


def test_psi_heavy_ties_are_stable():
    rng = np.random.default_rng(2)
    ref = rng.choice([0.0, 1.0, 2.0], p=[0.7, 0.2, 0.1], size=3000)
    cur = rng.choice([0.0, 1.0, 2.0], p=[0.7, 0.2, 0.1], size=3000)
    assert psi(ref, cur).figures["max_psi"] < 0.02
    moved = rng.choice([0.0, 1.0, 2.0], p=[0.3, 0.2, 0.5], size=3000)
    assert psi(ref, moved).figures["max_psi"] > 0.2


def test_psi_ignores_nan_and_reports_insufficient_columns():
    ref, cur = _windows(shift=1.0)
    cur[:, 0] = np.nan
    cur[::2, 2] = np.nan
    res = psi(ref, cur, feature_names=["a", "b", "c"])
    assert res.figures["psi"]["a"] is None and res.figures["insufficient_features"] == ["a"]
    assert res.figures["psi"]["c"] < 0.05 and res.figures["drifted"] == ["b"]


def test_psi_insufficient_when_every_column_is_short():
    res = psi(np.arange(20.0), np.arange(20.0))
    assert res.status == ToolStatus.INSUFFICIENT_DATA and res.figures == {}


@pytest.mark.parametrize(
    "ref, cur, match",
    [
        (np.ones((50, 2)), np.ones((50, 3)), "columns"),
        (np.r_[np.ones(49), np.inf], np.ones(50), "inf"),
        (np.ones((2, 2, 2)), np.ones((2, 2, 2)), "dimension"),
        (["a"] * 50, np.ones(50), "numeric"),
    ],
)
def test_psi_rejects_bad_input(ref, cur, match):
    with pytest.raises(ToolInputError, match=match):
        psi(ref, cur)


def test_psi_rejects_bad_names_and_bins():
    ref, cur = _windows()
    with pytest.raises(ToolInputError, match="names"):
        psi(ref, cur, feature_names=["a"])
    with pytest.raises(ToolInputError, match="bins"):
        psi(ref, cur, bins=1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    arrays(float, st.integers(30, 200), elements=finite),
    arrays(float, st.integers(30, 200), elements=finite),
    st.integers(2, 20),
)
def test_psi_is_non_negative(ref, cur, bins):
    assert psi(ref, cur, bins=bins).figures["max_psi"] >= 0.0


@settings(max_examples=40, deadline=None, derandomize=True)
@given(arrays(float, st.integers(30, 300), elements=finite))
def test_psi_of_a_sample_against_itself_is_zero(sample):
    assert psi(sample, sample).figures["max_psi"] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 1e4), st.floats(-1e4, 1e4))
def test_psi_is_invariant_to_affine_rescaling(seed, scale, offset):
    ref, cur = _windows(seed, n=300, shift=0.3)
    original = psi(ref, cur).figures["psi"]
    rescaled = psi(ref * scale + offset, cur * scale + offset).figures["psi"]
    for name, value in original.items():
        assert rescaled[name] == pytest.approx(value, abs=0.02)


def test_ks_reports_effect_size_and_corrected_p_values():
    ref, cur = _windows(shift=0.3)
    res = ks_drift(ref, cur, feature_names=["a", "b", "c"])
    assert res.tool == "ks" and res.figures["drifted"] == ["b"]
    assert res.figures["max_feature"] == "b" and 0.1 < res.figures["max_statistic"] < 0.2
    for name in "abc":
        assert res.figures["p_value"][name] == pytest.approx(min(1.0, 3 * res.figures["p_value_raw"][name]))
    assert res.figures["n_tests"] == 3


def test_ks_false_alarm_rate_is_near_alpha():
    drifted = sum(bool(ks_drift(*_windows(seed, n=300), alpha=0.05).figures["drifted"]) for seed in range(60))
    assert drifted <= 10  # about 3 expected at a family-wise 5%


def test_ks_insufficient_with_short_windows():
    assert ks_drift(np.arange(10.0), np.arange(10.0)).status == ToolStatus.INSUFFICIENT_DATA


def test_ks_rejects_bad_alpha():
    with pytest.raises(ToolInputError, match="alpha"):
        ks_drift(*_windows(), alpha=1.5)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    arrays(float, st.integers(30, 150), elements=finite),
    arrays(float, st.integers(30, 150), elements=finite),
)
def test_ks_p_values_are_probabilities(ref, cur):
    figures = ks_drift(ref, cur).figures
    assert 0.0 <= figures["p_value"]["feature_0"] <= 1.0
    assert 0.0 <= figures["statistic"]["feature_0"] <= 1.0


def test_prediction_drift_detects_shifted_scores():
    rng = np.random.default_rng(3)
    ref = rng.beta(2, 5, 2000)
    res = prediction_drift(ref, rng.beta(5, 2, 2000))
    assert res.tool == "prediction_drift" and res.figures["drifted"] is True
    assert res.figures["psi"] > 0.2 and res.figures["ks_statistic"] > 0.3 and res.figures["p_value"] < 1e-6
    assert prediction_drift(ref, rng.beta(2, 5, 2000)).figures["drifted"] is False


def test_prediction_drift_bad_and_short_input():
    with pytest.raises(ToolInputError, match="dimension"):
        prediction_drift(np.ones((40, 2)), np.ones(40))
    with pytest.raises(ToolInputError, match="NaN"):
        prediction_drift(np.r_[np.ones(40), np.nan], np.ones(40))
    assert prediction_drift(np.ones(10), np.ones(40)).status == ToolStatus.INSUFFICIENT_DATA


def test_an_empty_reference_is_insufficient_data_not_a_crash():
    import numpy as np

    from tools.drift import psi
    from tools.results import ToolStatus

    result = psi(np.zeros((0, 2)), np.random.default_rng(0).random((100, 2)), feature_names=["a", "b"])
    assert result.status == ToolStatus.INSUFFICIENT_DATA
