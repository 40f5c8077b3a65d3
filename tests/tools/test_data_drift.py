"""Tests for the per-column default tests (data_drift, label_drift), ReferenceProfile and multivariate drift."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import spatial, stats

from tools.drift import ReferenceProfile, data_drift, default_test, ks_drift, label_drift, psi, psi_values
from tools.multivariate_drift import domain_classifier_drift, mmd_drift
from tools.results import ToolInputError, ToolStatus
from tools.twosample import category_counts, chi2_counts, jensen_shannon, wasserstein_columns

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


def _mixed(n: int, seed: int, shift: float = 0.0, flip: float = 0.0) -> np.ndarray:
    """A numeric column and a 3-level categorical column."""
    rng = np.random.default_rng(seed)
    cat = rng.choice(3, size=n, p=[0.5 - flip, 0.3, 0.2 + flip])
    return np.c_[rng.normal(shift, 1, n), cat]


@pytest.mark.parametrize("kind, n, test", [("numeric", 500, "ks"), ("numeric", 5000, "wasserstein"),
                                           ("categorical", 500, "chi2"), ("categorical", 5000, "jensen_shannon")])
def test_default_test_follows_type_and_size(kind, n, test):
    assert default_test(kind, n) == test


def test_data_drift_flags_shifted_numeric_and_categorical_columns():
    res = data_drift(_mixed(600, 0), _mixed(600, 1, shift=0.5, flip=0.2), feature_names=["x", "c"])
    assert res.tool == "data_drift" and res.figures["drifted"] == ["x", "c"] and res.figures["dataset_drift"]
    x, c = res.figures["features"]["x"], res.figures["features"]["c"]
    assert (x["test"], x["kind"], c["test"], c["kind"]) == ("ks", "numeric", "chi2", "categorical")
    assert 0 < x["effect_size"] <= 1 and 0 < c["effect_size"] <= 1 and c["p_value"] < 1e-6


def test_large_windows_do_not_flag_negligible_shifts():
    """At n = 50,000 a 0.03-sigma shift has a tiny p-value but a negligible effect size: not drift."""
    res = data_drift(_mixed(50_000, 0), _mixed(50_000, 1, shift=0.03, flip=0.01), feature_names=["x", "c"])
    x = res.figures["features"]["x"]
    assert x["test"] == "wasserstein" and x["p_value"] < 0.01 and x["effect_size"] < 0.1
    assert res.figures["drifted"] == []
    shifted = data_drift(_mixed(50_000, 0), _mixed(50_000, 1, shift=0.5), feature_names=["x", "c"])
    assert shifted.figures["drifted"] == ["x"]


def test_data_drift_overrides_and_bad_input():
    ref, cur = _mixed(300, 0), _mixed(300, 1, shift=1.0)
    res = data_drift(ref, cur, feature_names=["x", "c"], tests={"x": "psi"}, thresholds={"psi": 0.3})
    assert res.figures["features"]["x"]["test"] == "psi" and res.figures["features"]["x"]["threshold"] == 0.3
    with pytest.raises(ToolInputError, match="unknown test"):
        data_drift(ref, cur, feature_names=["x", "c"], tests={"x": "magic"})
    with pytest.raises(ToolInputError, match="categorical columns"):
        data_drift(ref, cur, feature_names=["x", "c"], tests={"x": "chi2"})
    with pytest.raises(ToolInputError, match="unknown columns"):
        data_drift(ref, cur, feature_names=["x", "c"], categorical=["nope"])
    with pytest.raises(ToolInputError, match="columns"):
        data_drift(ref, cur[:, :1])
    assert data_drift(ref[:10], cur[:10]).status == ToolStatus.INSUFFICIENT_DATA


def test_data_drift_constant_reference_column():
    ref = np.c_[np.full(200, 3.0), np.arange(200.0)]
    same = data_drift(ref, ref, categorical=[])
    assert same.figures["drifted"] == []
    moved = data_drift(ref, np.c_[np.full(200, 4.0), np.arange(200.0)], categorical=[])
    assert moved.figures["drifted"] == ["feature_0"]


def test_label_drift_classes_and_numeric_target():
    rng = np.random.default_rng(3)
    res = label_drift(rng.integers(0, 2, 800), (rng.random(800) < 0.7).astype(int))
    assert res.tool == "label_drift" and res.figures["drifted"] and res.figures["test"] == "chi2"
    assert res.figures["current_shares"]["1"] == pytest.approx(0.7, abs=0.05)
    quiet = label_drift(rng.integers(0, 2, 800), rng.integers(0, 2, 800))
    assert not quiet.figures["drifted"]
    numeric = label_drift(rng.normal(size=800), rng.normal(1, 1, 800))
    assert numeric.figures["test"] == "ks" and numeric.figures["drifted"]
    assert label_drift([0, 1], [1, 0]).status == ToolStatus.INSUFFICIENT_DATA


def test_reference_profile_matches_one_shot_psi_and_is_reusable():
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=(1000, 4)), rng.normal(0.3, 1, size=(700, 4))
    profile = ReferenceProfile(ref, feature_names=list("abcd"), bins=10)
    np.testing.assert_allclose(profile.psi(cur), psi_values(ref, cur, 10))
    assert psi(profile, cur).figures == psi(ref, cur, feature_names=list("abcd")).figures
    assert ks_drift(profile, cur).figures["statistic"] == ks_drift(ref, cur, feature_names=list("abcd")).figures[
        "statistic"]
    with pytest.raises(ToolInputError, match="columns"):
        profile.psi(cur[:, :2])
    with pytest.raises(ToolInputError, match="feature_names"):
        psi(profile, cur, feature_names=list("wxyz"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(arrays(float, st.integers(2, 60), elements=finite), arrays(float, st.integers(2, 60), elements=finite))
def test_wasserstein_equals_scipy(a, b):
    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_columns(a[:, None], b[:, None])[0] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 4), min_size=2, max_size=80), st.lists(st.integers(0, 4), min_size=2, max_size=80))
def test_chi2_and_js_agree_with_scipy(a, b):
    ref_counts, cur_counts = category_counts(np.array(a, float), np.array(b, float))
    statistic, p_value, cramers_v = chi2_counts(ref_counts, cur_counts)
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] > 1:
        expected = stats.chi2_contingency(table, correction=False)
        assert statistic == pytest.approx(expected.statistic) and p_value == pytest.approx(expected.pvalue)
        assert 0 <= cramers_v <= 1
    js = float(jensen_shannon(ref_counts.astype(float), cur_counts.astype(float)))
    assert js == pytest.approx(spatial.distance.jensenshannon(ref_counts, cur_counts, base=2), abs=1e-9)


def test_mmd_sees_a_change_of_correlation_that_marginals_miss():
    rng = np.random.default_rng(5)
    ref = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 300)
    cur = rng.multivariate_normal([0, 0], [[1, -0.9], [-0.9, 1]], 300)
    assert ks_drift(ref, cur, alpha=0.01).figures["drifted"] == []
    res = mmd_drift(ref, cur, permutations=100)
    assert res.figures["drifted"] and res.figures["p_value"] < 0.02 and res.figures["mmd2"] > 0
    quiet = mmd_drift(ref, rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], 300), permutations=100)
    assert not quiet.figures["drifted"] and quiet.figures["p_value"] > 0.05
    assert mmd_drift(ref, cur, permutations=100).figures == res.figures  # seeded: reproducible
    assert mmd_drift(ref[:10], cur).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError, match="permutations"):
        mmd_drift(ref, cur, permutations=5)


def test_domain_classifier_auc_and_top_feature():
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(size=(400, 3)), rng.normal(size=(400, 3))
    cur[:, 2] += 1.0
    res = domain_classifier_drift(ref, cur, feature_names=["a", "b", "c"])
    assert res.figures["drifted"] and res.figures["auc"] > 0.65 and res.figures["top_features"][0] == "c"
    quiet = domain_classifier_drift(ref, rng.normal(size=(400, 3)))
    assert not quiet.figures["drifted"] and quiet.figures["auc"] < 0.6
    with pytest.raises(ToolInputError, match="min_auc"):
        domain_classifier_drift(ref, cur, min_auc=1.5)
