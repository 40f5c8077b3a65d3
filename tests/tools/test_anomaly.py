"""Tests for tools.anomaly: the streaming anomaly detector and period inference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tools.anomaly import StreamingAnomalyDetector, anomaly_scan, infer_period, season_strength
from tools.results import ToolInputError, ToolStatus


def _seasonal(seed: int, n: int = 3000, period: int = 100, noise: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 10 + np.sin(np.arange(n) * 2 * np.pi / period) + rng.normal(0, noise, n)


def _scores(series: np.ndarray, **params) -> np.ndarray:
    detector = StreamingAnomalyDetector(**params)
    return np.array([detector.update(x) for x in series])


@pytest.mark.parametrize("seed", range(5))
def test_a_spike_gets_the_top_score(seed):
    x = _seasonal(seed)
    x[2400] += 2.0
    scores = _scores(x, period=100)
    assert int(np.argmax(scores)) == 2400


@pytest.mark.parametrize("seed", range(5))
def test_seasonal_pattern_alone_is_not_alarming(seed):
    scores = _scores(_seasonal(seed), period=100)
    spiked = _seasonal(seed)
    spiked[2400] += 2.0
    assert scores[300:].max() < _scores(spiked, period=100)[2400]
    assert (scores[300:] > 0.6).mean() < 0.01


@pytest.mark.parametrize("seed", range(5))
def test_a_level_shift_raises_one_alert_not_hundreds(seed):
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(50, 1, 1000), rng.normal(60, 1, 1000)]
    scores = _scores(x, period=0)
    assert 1000 <= int(np.argmax(scores)) < 1010
    assert (scores[1000:1300] > 0.6).sum() <= 3


def _daily_cron(seed: int, days: int = 12, period: int = 288, height: float = 1.3) -> np.ndarray:
    """Flat noise with a one-point spike once a period at a minute that wanders by a few points."""
    rng = np.random.default_rng(seed)
    x = 0.1 + rng.normal(0, 0.01, days * period)
    for day in range(days):
        x[day * period + 200 + int(rng.integers(-3, 4))] += height
    return x


@pytest.mark.parametrize("seed", range(5))
def test_a_spike_that_recurs_at_the_same_time_of_day_stops_alarming(seed):
    x = _daily_cron(seed, days=16)
    scores = _scores(x, period=288)
    alarms = (scores[6 * 288 :] > 0.6).sum()  # once recurring_days (6) of history exist for the slot
    without = (_scores(x, period=288, recurring_days=0)[6 * 288 :] > 0.6).sum()
    assert without >= 5  # without the step it alarms (almost) every day
    assert alarms <= without // 2  # with it, at most on the days a spike sets a new record by a hair


@pytest.mark.parametrize("seed", range(3))
def test_a_recurring_spike_twice_as_large_still_alarms(seed):
    """Twice the usual height is a new record: records are news whatever the time of day."""
    x = _daily_cron(seed)
    day9 = 9 * 288 + int(np.argmax(x[9 * 288 : 10 * 288]))
    x[day9] += 1.3
    scores = _scores(x, period=288)
    assert scores[day9] > 0.6
    assert int(np.argmax(scores[6 * 288 :])) + 6 * 288 == day9


@pytest.mark.parametrize("seed", range(3))
def test_a_missing_daily_peak_still_alarms_a_few_points_late(seed):
    rng = np.random.default_rng(seed)
    period, days = 288, 12
    t = np.arange(days * period)
    peak = ((t % period) >= 100) & ((t % period) < 160)
    x = 20 + 60 * peak + rng.normal(0, 2, t.size)
    missing = (t // period == 9) & peak
    x[missing] = 20 + rng.normal(0, 2, missing.sum())
    scores = _scores(x, period=period)
    onset = 9 * period + 100
    assert scores[onset : onset + 6].max() > 0.6  # a run longer than the slot's usual one is news


@pytest.mark.parametrize(
    "params",
    [{"slots": 0}, {"recurring_days": -1}, {"recurring_min": 0}, {"recurring_days": 2, "recurring_min": 3},
     {"recurring_run": 0}],
)
def test_bad_recurring_parameters(params):
    with pytest.raises(ToolInputError):
        StreamingAnomalyDetector(period=288, **params)


def test_stated_period_the_data_do_not_show_is_dropped():
    detector = StreamingAnomalyDetector(period=100)
    for x in np.random.default_rng(1).normal(size=400):
        detector.update(x)
    assert detector.period == 0


def test_period_candidates_pick_the_one_the_data_show():
    detector = StreamingAnomalyDetector(period=[30, 100])
    for x in _seasonal(2, n=400):
        detector.update(x)
    assert detector.period == 100


def test_period_inferred_when_not_given():
    detector = StreamingAnomalyDetector(infer_after=500)
    for x in _seasonal(3, n=600, period=48):
        detector.update(x)
    assert detector.period == 48


def test_infer_period_and_season_strength():
    assert infer_period(_seasonal(4, n=1000, period=24)) == 24
    assert infer_period(np.random.default_rng(5).normal(size=1000)) is None
    assert infer_period(np.ones(100)) is None
    assert season_strength(_seasonal(4, n=200, period=100), 100) > 0.9  # two clean cycles
    assert abs(season_strength(np.random.default_rng(6).normal(size=600), 288)) < 0.3
    assert season_strength(np.ones(10), 3) == 0.0


@settings(max_examples=30, deadline=None, derandomize=True)
@given(arrays(float, st.integers(1, 400), elements=st.floats(-1e6, 1e6)))
def test_scores_are_in_unit_interval(series):
    scores = _scores(series)
    assert ((scores >= 0.0) & (scores < 1.0)).all()


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(1e-3, 1e3), st.floats(-1e4, 1e4))
def test_scores_do_not_depend_on_units(seed, scale, offset):
    x = _seasonal(seed % 1000, n=600, period=50)
    x[500] += 3.0
    np.testing.assert_allclose(_scores(x, period=50), _scores(x * scale + offset, period=50), atol=1e-6)


def test_predict_is_the_next_expected_value():
    detector = StreamingAnomalyDetector(period=100)
    x = _seasonal(10, n=1000, noise=0.01)
    for v in x[:900]:
        detector.update(v)
    assert detector.predict() == pytest.approx(x[900], abs=0.1)


def test_constant_stream_then_a_change():
    x = np.r_[np.full(500, 7.0), np.full(10, 7.5)]
    scores = _scores(x)
    assert scores[:500].max() == 0.0 and scores[500] > 0.5


def test_burn_in_scores_zero():
    assert _scores(_seasonal(6, n=200), burn_in=80)[:80].max() == 0.0


@pytest.mark.parametrize(
    "params",
    [{"period": 1}, {"period": [2, -3]}, {"period": 2.5}, {"alpha": 0.0}, {"gamma": 2.0}, {"half_life": 0},
     {"margin": 0.5}],
)
def test_bad_parameters(params):
    with pytest.raises(ToolInputError):
        StreamingAnomalyDetector(**params)


def test_non_finite_observation_is_rejected():
    detector = StreamingAnomalyDetector()
    with pytest.raises(ToolInputError):
        detector.update(float("inf"))


def test_anomaly_scan_finds_the_spike_and_skips_gaps():
    x = _seasonal(8)
    x[2400] += 3.0
    x[::97] = np.nan
    res = anomaly_scan(x, period=100)
    f = res.figures
    assert res.tool == "anomaly" and f["anomaly_detected"] is True and f["max_index"] == 2400
    assert 2400 in f["anomalies"] and f["period"] == 100 and f["n"] == np.count_nonzero(~np.isnan(x))
    assert len(f["anomaly_scores"]) == len(f["anomalies"]) and min(f["anomaly_scores"]) >= 0.6
    # Gaps neither alarm nor shift the seasonal phase. (Early on, small new highs and lows still score:
    # a never-seen value is surprising by design, and records get rarer as the stream ages.)
    assert [i for i in f["anomalies"] if i > 500] == [2400]


def test_anomaly_scan_quiet_short_and_bad():
    quiet = anomaly_scan(np.random.default_rng(9).normal(size=2000), period=0).figures
    assert len(quiet["anomalies"]) <= 10
    assert anomaly_scan(np.ones(20)).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError):
        anomaly_scan(np.r_[np.ones(100), np.inf])
    with pytest.raises(ToolInputError):
        anomaly_scan(np.ones(100), threshold=1.5)
