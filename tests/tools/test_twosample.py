"""Tests for tools.twosample: vectorised statistics agree with the scalar references they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.metrics import roc_auc_score

from tools.twosample import ks_columns, rank_auc

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
