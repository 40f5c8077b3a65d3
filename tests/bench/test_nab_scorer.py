"""Rule-by-rule tests of the NAB scorer (bench/nab_scorer.py), with values worked out from NAB's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.nab_scorer import (
    PROFILES,
    FileRows,
    best_threshold,
    file_rows,
    file_score,
    probation_length,
    scaled_sigmoid,
    sweep,
)

STANDARD = PROFILES["standard"]


def _stamps(n: int) -> np.ndarray:
    return np.datetime64("2020-01-01T00:00:00") + np.arange(n) * np.timedelta64(5, "m")


def _rows(scores, n: int = 1000, windows=((400, 499),)) -> FileRows:
    """One file of ``n`` rows with windows given as (first row, last row)."""
    t = _stamps(n)
    return file_rows("cat/f.csv", t, np.asarray(scores, float), [(t[a], t[b]) for a, b in windows], 0)


def _s(p: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * p)) - 1.0


def test_scaled_sigmoid_matches_nab_formula():
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(0.5) == pytest.approx(_s(0.5)) and scaled_sigmoid(0.5) < 0
    assert scaled_sigmoid(3.0) == scaled_sigmoid(10.0) == -1.0


def test_probation_is_15_percent_capped_at_750_rows():
    assert probation_length(1000) == 150
    assert probation_length(4032) == 604
    assert probation_length(15_000) == 750
    rows = _rows(np.zeros(1000))
    assert rows.scores.size == 850  # the first 150 rows are not scored


def test_a_detection_is_worth_more_the_earlier_it_comes_in_its_window():
    rows = _rows(np.zeros(1000))
    inside = rows.in_window_value[rows.window == 0]
    assert inside.size == 100
    assert inside[0] == pytest.approx(1.0)  # first row: s(-1) / s(-1)
    assert inside[49] == pytest.approx(_s(-51 / 100) / _s(-1.0))  # mid-window, about 0.87
    assert inside[-1] == pytest.approx(_s(-1 / 100) / _s(-1.0))  # last row: barely positive
    assert np.all(np.diff(inside) < 0)


def test_false_positives_cost_less_just_after_a_window_than_far_from_one():
    rows = _rows(np.zeros(1000))
    offset = probation_length(1000)
    outside = rows.outside_value
    assert outside[300 - offset] == -1.0  # before any window
    just_after = outside[505 - offset]
    assert just_after == pytest.approx(_s(6 / 99))  # 6 rows past the right edge, in widths of 99 gaps
    assert -0.2 < just_after < 0
    assert outside[900 - offset] == -1.0  # more than 3 widths past the window


def test_only_the_earliest_detection_in_a_window_counts_and_misses_cost_fn_weight():
    scores = np.zeros(1000)
    scores[[410, 450, 480]] = 1.0  # three detections in the one window
    result = file_score(_rows(scores), 0.5, STANDARD)
    assert result == {"score": pytest.approx(_s(-90 / 100) / _s(-1.0)), "tp": 1, "fn": 0, "fp": 0}
    missed = file_score(_rows(np.zeros(1000)), 0.5, STANDARD)
    assert missed["score"] == pytest.approx(-1.0) and missed["fn"] == 1
    low_fn = file_score(_rows(np.zeros(1000)), 0.5, PROFILES["reward_low_FN_rate"])
    assert low_fn["score"] == pytest.approx(-2.0)


def test_detections_in_probation_are_neither_found_nor_false():
    scores = np.zeros(1000)
    scores[100] = 1.0  # a false positive, but inside the probationary first 150 rows
    result = file_score(_rows(scores), 0.5, STANDARD)
    assert result == {"score": pytest.approx(-1.0), "tp": 0, "fn": 1, "fp": 0}
    scores[300] = 1.0  # the same detection after probation is a false positive far from any window
    assert file_score(_rows(scores), 0.5, STANDARD)["score"] == pytest.approx(-1.0 - 0.11)


def test_sweep_and_file_score_agree_across_the_threshold_range():
    rng = np.random.default_rng(3)
    files = [_rows(rng.random(1000), windows=((300, 349), (700, 749))),
             file_rows("cat/g.csv", _stamps(2000), rng.random(2000), [(_stamps(2000)[900], _stamps(2000)[999])], 2)]
    thresholds, totals = sweep(files, STANDARD)
    for t, total in zip(thresholds[1::25], totals[1::25], strict=True):  # across the whole range
        assert total == pytest.approx(sum(file_score(f, t, STANDARD)["score"] for f in files))
    threshold, best = best_threshold(files, STANDARD)
    assert best == pytest.approx(totals.max())
    assert best == pytest.approx(sum(file_score(f, threshold, STANDARD)["score"] for f in files))


def test_best_threshold_prefers_the_highest_of_tied_thresholds():
    scores = np.zeros(1000)
    scores[400] = 0.9  # detects the window at its first row; nothing else ever fires
    threshold, raw = best_threshold([_rows(scores)], STANDARD)
    assert raw == pytest.approx(1.0)
    assert threshold == pytest.approx(0.9)  # every threshold in (0, 0.9] scores the same; the highest is kept
