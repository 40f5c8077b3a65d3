"""Tests for tools.changepoint: the detector contract, run over every detector, and change_scan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.changepoint import DETECTORS, change_scan
from tools.results import ToolInputError, ToolStatus

DETECTOR_CLASSES = list(DETECTORS.values())


def _first_hit(detector, series) -> int | None:
    for i, x in enumerate(series):
        if detector.update(x).drift_detected:
            return i
    return None


def _shifted(seed: int, shift: float, n_before: int = 400, n_after: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.normal(0, 1, n_before), rng.normal(shift, 1, n_after)]


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
def test_update_returns_self_and_counts(cls):
    detector = cls()
    assert detector.update(1.0) is detector and detector.n == 1 and not detector.drift_detected
    assert detector.direction is None


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
@pytest.mark.parametrize("shift, direction", [(2.0, "up"), (-2.0, "down")])
def test_detects_shifts_both_ways_soon_after_they_happen(cls, shift, direction):
    delays = []
    for seed in range(20):
        detector = cls()
        hit = _first_hit(detector, _shifted(seed, shift))
        assert hit is not None and detector.direction == direction
        delays.append(hit - 400)
    assert np.median(delays) < 25 and min(delays) >= -5


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
def test_few_false_alarms_on_stationary_noise(cls):
    rng = np.random.default_rng(11)
    alarms = sum(_first_hit(cls(), rng.normal(size=2000)) is not None for _ in range(40))
    assert alarms <= 4


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
def test_resets_after_detection(cls):
    detector = cls()
    _first_hit(detector, _shifted(3, 5.0))
    assert detector.n < 50  # a fresh burn-in started at the detection


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
def test_rejects_non_finite_observations(cls):
    with pytest.raises(ToolInputError):
        cls().update(float("nan"))


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
def test_constant_burn_in_then_any_move_is_a_change(cls):
    detector = cls()
    assert _first_hit(detector, np.r_[np.full(100, 3.0), np.full(5, 3.5)]) == 100


@pytest.mark.parametrize("cls", DETECTOR_CLASSES)
@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.floats(1e-3, 1e3), st.floats(-1e4, 1e4))
def test_scale_invariance(cls, seed, scale, offset):
    series = _shifted(seed, 1.5, 200, 200)
    a, b = cls(), cls()
    hits_a = [i for i, x in enumerate(series) if a.update(x).drift_detected]
    hits_b = [i for i, x in enumerate(series * scale + offset) if b.update(x).drift_detected]
    assert hits_a == hits_b


def test_change_scan_reports_first_change():
    for detector in DETECTORS:
        res = change_scan(_shifted(5, -3.0), detector=detector)
        assert res.tool == "change_scan" and res.figures["change_detected"] is True
        assert 400 <= res.figures["change_index"] < 430 and res.figures["direction"] == "down"
        assert res.figures["n"] == 700


def test_change_scan_skips_gaps_and_keeps_indices():
    series = _shifted(6, 3.0)
    series[::7] = np.nan
    res = change_scan(series)
    assert res.figures["n"] == np.count_nonzero(~np.isnan(series))
    assert 400 <= res.figures["change_index"] < 430 and not np.isnan(series[res.figures["change_index"]])


def test_change_scan_quiet_and_short_and_bad():
    quiet = change_scan(np.random.default_rng(8).normal(size=500))
    assert quiet.figures["change_detected"] is False and quiet.figures["change_index"] is None
    assert quiet.figures["direction"] is None
    assert change_scan(np.ones(10)).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError, match="detector"):
        change_scan(np.ones(100), detector="adwin")
    with pytest.raises(ToolInputError, match="inf"):
        change_scan(np.r_[np.ones(100), np.inf])


# --- ADWIN and the vectorised detectors ------------------------------------------------------------

from tools.adwin import ADWIN  # noqa: E402
from tools.changepoint import CUSUM, PageHinkley  # noqa: E402
from tools.changepoint_vector import CUSUMVector, PageHinkleyVector  # noqa: E402


@pytest.mark.parametrize("shift, direction", [(1.5, "up"), (-1.5, "down")])
def test_adwin_detects_shifts_and_shrinks_its_window(shift, direction):
    delays = []
    for seed in range(10):
        detector = ADWIN()
        hit = _first_hit(detector, _shifted(seed, shift, 1000, 500))
        assert hit is not None and detector.direction == direction
        delays.append(hit - 1000)
        assert detector.n < 1000  # the old regime was dropped
    assert 0 <= np.median(delays) < 100


def test_adwin_is_quiet_on_stationary_noise_and_rejects_bad_input():
    rng = np.random.default_rng(12)
    assert _first_hit(ADWIN(), rng.normal(size=20_000)) is None
    with pytest.raises(ToolInputError):
        ADWIN().update(float("inf"))
    with pytest.raises(ToolInputError, match="delta"):
        ADWIN(delta=0)
    with pytest.raises(ToolInputError, match="clock"):
        ADWIN(clock=0)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1e-3, 0.5, 4.0, 1e3]), st.floats(-1e3, 1e3))
def test_adwin_scale_invariance(seed, scale, offset):
    series = _shifted(seed, 1.5, 300, 300)
    a, b = ADWIN(), ADWIN()
    assert ([i for i, x in enumerate(series) if a.update(x).drift_detected]
            == [i for i, x in enumerate(series * scale + offset) if b.update(x).drift_detected])


@pytest.mark.parametrize("vector, scalar", [(PageHinkleyVector, PageHinkley), (CUSUMVector, CUSUM)])
@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1))
def test_vector_detector_equals_one_scalar_detector_per_series(vector, scalar, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 5)) * rng.uniform(0.01, 100, 5)
    x[200:, 1] += 3 * x[:200, 1].std()
    x[rng.random(x.shape) < 0.05] = np.nan  # gaps
    x[:, 4] = 2.0  # constant
    x[300:, 4] = 2.5
    many = vector(5)
    got = [(t, j, int(many.direction[j])) for t, row in enumerate(x) for j in np.flatnonzero(many.update(row).drift_detected)]
    expected = []
    for j in range(5):
        one = scalar()
        for t in range(400):
            if not np.isnan(x[t, j]) and one.update(x[t, j]).drift_detected:
                expected.append((t, j, 1 if one.direction == "up" else -1))
    assert sorted(got) == sorted(expected)


@pytest.mark.parametrize("vector", [PageHinkleyVector, CUSUMVector])
def test_vector_defaults_raise_at_most_one_false_alarm_per_100k_points(vector):
    rng = np.random.default_rng(13)
    detector = vector(200)
    alarms = sum(int(detector.update(rng.normal(size=200)).drift_detected.sum()) for _ in range(2_500))
    assert alarms <= 5  # 500,000 stationary points


def test_vector_detector_bad_input():
    with pytest.raises(ToolInputError, match="n_series"):
        PageHinkleyVector(0)
    with pytest.raises(ToolInputError, match="need 3 values"):
        CUSUMVector(3).update([1.0, 2.0])
    with pytest.raises(ToolInputError, match="finite"):
        CUSUMVector(2).update([1.0, np.inf])
    with pytest.raises(ToolInputError):
        PageHinkleyVector(2, threshold=-1)
