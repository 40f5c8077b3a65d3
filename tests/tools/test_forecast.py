"""Tests for tools.forecast: Holt-Winters forecasts, intervals and time to breach."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.forecast import fit_holt_winters, holt_winters_forecast, time_to_breach
from tools.results import ToolInputError, ToolStatus


def _trend_season(seed: int, n: int = 480, period: int = 24, slope: float = 0.05, noise: float = 1.0) -> np.ndarray:
    t = np.arange(n)
    return 50 + slope * t + 5 * np.sin(2 * np.pi * t / period) + np.random.default_rng(seed).normal(0, noise, n)


def test_forecast_follows_trend_and_season():
    y = _trend_season(0)
    res = holt_winters_forecast(y, period=24, horizon=48)
    t = np.arange(480, 528)
    truth = 50 + 0.05 * t + 5 * np.sin(2 * np.pi * t / 24)
    f = res.figures
    assert res.tool == "forecast" and len(f["forecast"]) == 48
    assert np.abs(np.array(f["forecast"]) - truth).max() < 3.0
    assert f["sigma"] == pytest.approx(1.0, rel=0.2)
    assert (np.array(f["lower"]) < np.array(f["forecast"])).all()
    assert (np.diff(np.array(f["upper"]) - np.array(f["lower"])) >= -1e-9).all()  # intervals widen


def test_interval_coverage_is_near_nominal():
    inside = []
    for seed in range(30):
        y = _trend_season(seed, n=300)
        f = holt_winters_forecast(y[:-5], period=24, horizon=5, level=0.9).figures
        inside.extend((np.array(f["lower"]) <= y[-5:]) & (y[-5:] <= np.array(f["upper"])))
    assert 0.8 <= np.mean(inside) <= 0.98


def test_non_seasonal_holt():
    y = 10 + 0.5 * np.arange(100) + np.random.default_rng(1).normal(0, 0.2, 100)
    f = holt_winters_forecast(y, period=0, horizon=10).figures
    assert f["forecast"][-1] == pytest.approx(10 + 0.5 * 109, abs=1.5) and f["gamma"] == 0.0


def test_time_to_breach_on_a_rising_series():
    y = 10 + 0.5 * np.arange(100) + np.random.default_rng(2).normal(0, 0.2, 100)
    res = time_to_breach(y, 80.0, 0, 50)
    f = res.figures
    assert res.tool == "time_to_breach" and f["direction"] == "above" and f["breach_expected"] is True
    assert 38 <= f["steps_to_breach"] <= 45  # (80 - 59.5) / 0.5 = 41
    assert f["probability"] > 0.9 and 38 <= f["median_steps_to_breach"] <= 45


def test_time_to_breach_far_away_or_below():
    y = _trend_season(3)
    far = time_to_breach(y, 500.0, 24, 48).figures
    assert far["breach_expected"] is False and far["probability"] == 0.0 and far["steps_to_breach"] is None
    below = time_to_breach(y, 0.0, 24, 48).figures
    assert below["direction"] == "below" and below["probability"] == 0.0
    assert time_to_breach(y, 10.0, 24, 5, direction="above").figures["already_breached"] is True


def test_time_to_breach_is_reproducible():
    y = _trend_season(4)
    a = time_to_breach(y, 82.0, 24, 24).figures["probability"]
    assert a == time_to_breach(y, 82.0, 24, 24).figures["probability"] and 0.0 < a < 1.0


def test_short_series_is_insufficient():
    assert holt_winters_forecast(np.arange(30.0), period=24, horizon=5).status == ToolStatus.INSUFFICIENT_DATA
    assert time_to_breach(np.arange(5.0), 10.0, 0, 5).status == ToolStatus.INSUFFICIENT_DATA


@pytest.mark.parametrize(
    "call",
    [
        lambda: holt_winters_forecast([1.0, np.nan] * 20, period=0, horizon=3),
        lambda: holt_winters_forecast(np.ones(50), period=0, horizon=0),
        lambda: holt_winters_forecast(np.ones(50), period=-1, horizon=3),
        lambda: holt_winters_forecast(np.ones(50), period=0, horizon=3, level=1.0),
        lambda: time_to_breach(np.ones(50), 2.0, 0, 3, direction="sideways"),
        lambda: time_to_breach(np.ones(50), float("inf"), 0, 3),
    ],
)
def test_bad_input(call):
    with pytest.raises(ToolInputError):
        call()


def test_constant_series_forecasts_itself():
    f = holt_winters_forecast(np.full(60, 3.0), period=0, horizon=4).figures
    assert np.allclose(f["forecast"], 3.0) and f["sigma"] == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(-100, 100))
def test_breach_probability_is_a_probability(seed, threshold):
    y = np.cumsum(np.random.default_rng(seed).normal(size=60))
    f = time_to_breach(y, threshold, 0, 20, paths=200).figures
    assert 0.0 <= f["probability"] <= 1.0


def test_fit_reports_the_period():
    assert fit_holt_winters(_trend_season(5), 24).period == 24
