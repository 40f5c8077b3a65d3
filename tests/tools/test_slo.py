"""Tests for tools.slo: latency percentiles and error rates against their SLOs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.results import ToolInputError, ToolStatus
from tools.slo import error_rate_check, latency_slo


def test_latency_slo_breach_and_burn():
    lat = np.random.default_rng(0).lognormal(np.log(100), 0.3, 5000)
    res = latency_slo(lat, slo_p95_ms=120)
    assert res.tool == "latency_slo" and res.figures["breach"] is True
    assert res.figures["p50_ms"] < res.figures["p95_ms"] < res.figures["p99_ms"]
    assert res.figures["burn"] == pytest.approx(res.figures["p95_ms"] / 120)
    assert latency_slo(lat, slo_p95_ms=500).figures["breach"] is False


def test_latency_slo_bad_and_short_input():
    assert latency_slo(np.ones(5), slo_p95_ms=100).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError, match="negative"):
        latency_slo(-np.ones(50), slo_p95_ms=100)
    with pytest.raises(ToolInputError, match="slo_p95_ms"):
        latency_slo(np.ones(50), slo_p95_ms=0)
    with pytest.raises(ToolInputError, match="NaN"):
        latency_slo(np.r_[np.ones(50), np.nan], slo_p95_ms=100)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.floats(0, 1e5), min_size=20, max_size=200), st.floats(1, 1e4))
def test_latency_percentiles_are_ordered(latencies, slo):
    f = latency_slo(np.asarray(latencies), slo_p95_ms=slo).figures
    assert f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"] and f["breach"] == (f["p95_ms"] > slo)


def test_error_rate_check():
    res = error_rate_check(30, 1000, slo_error_rate=0.02)
    assert res.tool == "error_rate" and res.figures["error_rate"] == 0.03 and res.figures["breach"] is True
    assert res.figures["p_value"] < 0.05
    assert error_rate_check(1, 1000).figures["breach"] is False
    assert error_rate_check(0, 0).status == ToolStatus.INSUFFICIENT_DATA


def test_error_rate_p_value_tells_small_samples_apart():
    assert error_rate_check(1, 10).figures["p_value"] > 0.1  # 10% on ten requests is weak evidence


@pytest.mark.parametrize("errors, requests", [(5, 3), (-1, 3), (1.5, 3), (True, 3)])
def test_error_rate_bad_counts(errors, requests):
    with pytest.raises(ToolInputError):
        error_rate_check(errors, requests)
