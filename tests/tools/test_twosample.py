"""Tests for tools.twosample: vectorised statistics agree with the scalar references they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import roc_auc_score

from tools import twosample
from tools.twosample import ks_columns, ks_wasserstein_columns, rank_auc, wasserstein_columns

# Few distinct values, so ties across and within windows are common.
tied = st.sampled_from([-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, 1e6, np.nan])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(arrays(float, st.tuples(st.integers(1, 60), st.integers(1, 4)), elements=tied),
       arrays(float, st.tuples(st.integers(1, 60), st.integers(1, 4)), elements=tied))
def test_ks_statistic_equals_scipy_with_ties_and_nan(ref, cur):
    d = min(ref.shape[1], cur.shape[1])
    ref, cur = ref[:, :d], cur[:, :d]
    statistic, p_value = ks_columns(ref, cur)
    for j in range(d):
        a, b = ref[:, j][~np.isnan(ref[:, j])], cur[:, j][~np.isnan(cur[:, j])]
        if a.size == 0 or b.size == 0:
            assert np.isnan(statistic[j]) and np.isnan(p_value[j])
            continue
        expected = stats.ks_2samp(a, b, method="exact")
        assert statistic[j] == expected.statistic
        assert p_value[j] == pytest.approx(expected.pvalue)  # small windows take the exact path


@pytest.mark.parametrize("n, m, shift", [(1000, 1000, 0.1), (1000, 1000, 0.2), (5000, 300, 0.2), (400, 2000, 0.0)])
def test_ks_asymptotic_p_value_is_close_to_exact(n, m, shift):
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(size=(n, 3)), rng.normal(shift, 1, size=(m, 3))
    statistic, p_value = ks_columns(ref, cur)
    for j in range(3):
        exact = stats.ks_2samp(ref[:, j], cur[:, j], method="exact")
        assert statistic[j] == exact.statistic
        # within 10% where decisions are made, within a factor 1.5 far out in the tail
        assert p_value[j] == pytest.approx(exact.pvalue, rel=0.1 if exact.pvalue > 1e-4 else 0.5)


def test_ks_columns_is_blockwise_consistent(monkeypatch):
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=(300, 7)), rng.normal(size=(200, 7))
    whole = ks_columns(ref, cur)
    monkeypatch.setattr("tools.twosample._CHUNK_CELLS", 1000)  # two columns per block
    np.testing.assert_array_equal(ks_columns(ref, cur)[0], whole[0])
    np.testing.assert_array_equal(ks_columns(ref, cur)[1], whole[1])


def _stephens(statistic: float, n: int, m: int) -> float:
    """Scalar reference of the asymptotic p-value ks_columns documents for n * m > EXACT_KS_MAX_PRODUCT."""
    root = np.sqrt(n * m / (n + m))
    return float(np.clip(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0))


def _random_windows(rng: np.random.Generator, n: int, m: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns of several kinds: continuous, heavily tied, one-ulp neighbours, constants, shifted, with NaN."""
    ref, cur = rng.normal(size=(n, d)), rng.normal(0.2, 1.0, size=(m, d))
    ref[:, 1], cur[:, 1] = np.round(ref[:, 1] * 2) / 2, np.round(cur[:, 1] * 2) / 2  # many ties across windows
    base = rng.choice([-3.0, -0.0, 0.0, 1.0, 2.5], size=n + m)  # values one ulp apart are distinct, not tied
    both = np.where(rng.random(n + m) < 0.5, base, np.nextafter(base, np.inf))
    ref[:, 2], cur[:, 2] = both[:n], both[n:]
    ref[:, 3], cur[:, 3] = 7.0, np.where(rng.random(m) < 0.5, 7.0, 8.0)
    ref[rng.random((n, d)) < 0.05] = np.nan
    cur[rng.random((m, d)) < 0.05] = np.nan
    return ref, cur


@pytest.mark.parametrize("n, m", [(7, 9), (40, 250), (120, 120), (1000, 1000), (1500, 333), (60, 2400)])
@pytest.mark.parametrize("seed", [0, 1])
def test_ks_and_wasserstein_equal_scipy_on_random_windows(n, m, seed):
    ref, cur = _random_windows(np.random.default_rng(seed), n, m, 6)
    statistic, p_value, distance = ks_wasserstein_columns(ref, cur)
    np.testing.assert_array_equal(ks_columns(ref, cur)[0], statistic)
    np.testing.assert_array_equal(wasserstein_columns(ref, cur), distance)
    for j in range(ref.shape[1]):
        a, b = ref[:, j][~np.isnan(ref[:, j])], cur[:, j][~np.isnan(cur[:, j])]
        exact = stats.ks_2samp(a, b, method="exact")
        assert statistic[j] == exact.statistic
        if a.size * b.size <= twosample.EXACT_KS_MAX_PRODUCT:
            assert p_value[j] == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-300)
        else:
            assert p_value[j] == pytest.approx(_stephens(exact.statistic, a.size, b.size), rel=1e-9, abs=1e-300)
        assert distance[j] == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-12)


def test_one_ulp_apart_is_not_a_tie():
    ref, cur = np.array([[1.0], [2.0]]), np.array([[np.nextafter(1.0, 2.0)], [np.nextafter(2.0, 3.0)]])
    assert ks_columns(ref, cur)[0][0] == stats.ks_2samp(ref[:, 0], cur[:, 0]).statistic == 0.5


def test_int64_gaps_give_the_same_result(monkeypatch):
    ref, cur = _random_windows(np.random.default_rng(3), 300, 200, 6)
    narrow = ks_wasserstein_columns(ref, cur)
    assert twosample._gap_dtype(300, 200) is np.int32 and twosample._gap_dtype(50_000, 50_000) is np.int64
    monkeypatch.setattr(twosample, "_gap_dtype", lambda rows_ref, rows_cur: np.int64)
    for got, expected in zip(ks_wasserstein_columns(ref, cur), narrow, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_all_missing_column_is_nan():
    ref, cur = np.ones((50, 2)), np.ones((40, 2))
    cur[:, 1] = np.nan
    statistic, p_value, distance = ks_wasserstein_columns(ref, cur)
    assert statistic[0] == 0.0 and p_value[0] == 1.0 and distance[0] == 0.0
    assert np.isnan(statistic[1]) and np.isnan(p_value[1]) and np.isnan(distance[1])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.5, 0.7, 0.9, 1.0])), min_size=1,
                max_size=80))
def test_rank_auc_equals_sklearn(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    if 0 < y.sum() < y.size:
        assert rank_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    else:
        assert rank_auc(y, s) is None
