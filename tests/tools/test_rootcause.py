"""Tests for the root-cause evidence tools: level shifts, resource trends, unit changes, change events, labels, segments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tools.fairness import categorical_columns, segment_performance
from tools.labels import feedback_echo, label_shift
from tools.observations import PlatformEvent
from tools.results import ToolInputError, ToolResult, ToolStatus
from tools.rootcause import change_events, level_shift, resource_trend, scale_change

rng = np.random.default_rng(0)
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def safe(res: ToolResult) -> ToolResult:
    json.dumps(res.model_dump(mode="json"), allow_nan=False)
    assert res.tool_call_id.startswith(f"tc-{res.tool}-")
    return res


def test_level_shift_up_down_and_flat():
    base = 40 + rng.normal(0, 1, 30)
    assert safe(level_shift(np.r_[base, 160, 170], recent=2)).figures["direction"] == "up"
    up = level_shift(np.r_[base, 160, 170], recent=2)
    assert up.figures["shifted"] and up.figures["ratio"] > 3
    down = level_shift(np.r_[base, 10, 12], recent=2)
    assert down.figures["shifted"] and down.figures["direction"] == "down"
    assert not level_shift(np.r_[base, 44, 45], recent=2).figures["shifted"]


def test_level_shift_skips_gaps_and_needs_a_baseline():
    assert level_shift(np.r_[np.nan, 1, 1, 1, 1, 5], recent=1).figures["shifted"]
    assert level_shift([1.0, 2.0, 3.0], recent=1).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError):
        level_shift([1.0] * 10, recent=0)
    with pytest.raises(ToolInputError):
        level_shift([1.0] * 10, recent=2, ratio=0.5)
    with pytest.raises(ToolInputError):
        level_shift([1.0, np.inf], recent=1)


def test_resource_trend_flags_a_climb_towards_the_limit_only():
    climb = np.linspace(0.5, 0.8, 12) + rng.normal(0, 0.005, 12)
    res = safe(resource_trend(climb, limit=0.9, step_min=5))
    assert res.figures["at_risk"] and 0 < res.figures["minutes_to_limit"] < 60
    flat = 0.6 + rng.normal(0, 0.01, 12)
    assert not resource_trend(flat, limit=0.9, step_min=5).figures["at_risk"]
    slow = np.linspace(0.5, 0.52, 12)
    assert not resource_trend(slow, limit=0.9, step_min=5).figures["at_risk"]  # would take hours
    assert resource_trend(np.full(12, 0.95), limit=0.9, step_min=5).figures["at_risk"]
    assert resource_trend([0.5] * 3, limit=0.9, step_min=5).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError):
        resource_trend([0.5] * 10, limit=0.9, step_min=0)


def test_scale_change_tells_units_from_a_shift():
    ref = rng.normal(size=(2000, 3))
    cur = rng.normal(size=(500, 3))
    cur[:, 0] *= 0.001
    cur[:, 1] += 3.0
    res = safe(scale_change(ref, cur, feature_names=["x", "y", "z"]))
    assert res.figures["rescaled"] == ["x"] and res.figures["max_feature"] == "x"
    assert res.figures["spread_ratio"]["y"] == pytest.approx(1.0, abs=0.2)


def test_scale_change_handles_categorical_and_empty_columns():
    ref = np.c_[rng.integers(0, 3, 1000), np.full(1000, np.nan)]
    cur = np.c_[rng.integers(0, 3, 300), np.full(300, np.nan)]
    res = scale_change(ref, cur)
    assert res.ok and res.figures["spread_ratio"]["feature_1"] is None and res.figures["rescaled"] == []
    assert scale_change(ref[:, 1:], cur[:, 1:]).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError):
        scale_change(ref, cur[:, :1])


def test_change_events_filters_by_kind_time_and_detail():
    events = [PlatformEvent(at=T0 + timedelta(minutes=m), service="s", kind=k, detail=d) for m, k, d in [
        (10, "deploy", {"from": "v1", "to": "v2"}), (20, "store_switch", {"from": "online", "to": "fallback"}),
        (30, "store_switch", {"from": "batch", "to": "fallback"})]]
    res = safe(change_events(events, kinds=["store_switch"], start=T0, end=T0 + timedelta(hours=1),
                             match={"from": "online"}))
    assert res.figures["count"] == 1 and res.figures["minutes_before_end"] == 40
    assert change_events(events, kinds=["deploy"], start=T0 + timedelta(minutes=15), end=T0 + timedelta(hours=1)
                         ).figures["count"] == 0
    with pytest.raises(ToolInputError):
        change_events(events, kinds="deploy", start=T0, end=T0)
    with pytest.raises(ToolInputError):
        change_events(events, kinds=["deploy"], start=T0, end=T0 - timedelta(minutes=1))


def _labelled(n: int, positive_shift: float = 0.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    r = np.random.default_rng(seed)
    s = r.random(n)
    y = (r.random(n) < np.clip(s + positive_shift, 0, 1)).astype(int)
    return y, s


def test_label_shift_sees_a_prior_shift_not_noise():
    ry, _ = _labelled(4000)
    cy, cs = _labelled(800, 0.3, seed=2)
    res = safe(label_shift(ry, cy, cs))
    assert res.figures["shifted"] and res.figures["shift"] > 0.2 and res.figures["calibration_gap"] > 0.2
    cy, cs = _labelled(800, seed=3)
    assert not label_shift(ry, cy, cs).figures["shifted"]
    assert label_shift(ry, cy[:10], cs[:10]).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError):
        label_shift(ry, cy, cs[:-1])


def test_feedback_echo_sees_over_confident_scores_and_echoing_labels():
    ry, rs = _labelled(4000)
    sharp = np.clip(np.round(rs) * 0.98 + 0.01, 0, 1)
    res = safe(feedback_echo(ry, rs, sharp))
    assert res.figures["echo"] and res.figures["sharpness_gain"] > 0.3 and res.figures["current_agreement"] is None
    _, cs = _labelled(800, seed=5)
    echo_labels = (cs >= 0.5).astype(int)
    res = feedback_echo(ry, rs, cs, echo_labels, cs)
    assert res.figures["echo"] and res.figures["agreement_gain"] > 0.1
    cy, cs = _labelled(800, seed=6)
    assert not feedback_echo(ry, rs, cs, cy, cs).figures["echo"]
    assert feedback_echo(ry, rs, cs[:5]).status == ToolStatus.INSUFFICIENT_DATA


def test_segment_performance_finds_the_one_broken_segment():
    r = np.random.default_rng(7)
    ref_g, cur_g = r.integers(0, 3, 4000), r.integers(0, 3, 900)
    ry, rs = _labelled(4000)
    cy, cs = _labelled(900, seed=8)
    broken = cy.copy()
    broken[cur_g == 1] = 1 - broken[cur_g == 1]
    res = safe(segment_performance(ref_g, ry, rs, cur_g, broken, cs))
    assert res.figures["concentrated"] and res.figures["worst_segment"] == "1"
    everywhere = 1 - cy
    assert not segment_performance(ref_g, ry, rs, cur_g, everywhere, cs).figures["concentrated"]
    assert not segment_performance(ref_g, ry, rs, cur_g, cy, cs).figures["concentrated"]
    assert segment_performance(np.zeros(4000), ry, rs, np.zeros(900), cy, cs).status == ToolStatus.INSUFFICIENT_DATA
    with pytest.raises(ToolInputError):
        segment_performance(ref_g, ry, rs, cur_g[:-1], cy, cs)


def test_categorical_columns():
    X = np.c_[rng.normal(size=500), rng.integers(0, 3, 500), np.ones(500), rng.integers(0, 50, 500)]
    assert categorical_columns(X) == [1]
