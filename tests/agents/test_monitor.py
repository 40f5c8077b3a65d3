"""The monitor's checks on synthetic windows: each breach raises one finding with cited numbers; healthy data none."""

from __future__ import annotations

import re

import numpy as np

from agents.deps import MonitorSettings
from agents.monitor import FINDING_KINDS, reference_profile, scan, tick_minutes
from tests.agents.conftest import FakeSource, healthy

SETTINGS = MonitorSettings()
CITE = re.compile(r"\[tc-[a-z_]+-[0-9a-f]{10}\]")


def kinds(svc) -> list[str]:
    return sorted({f.kind for f in scan(FakeSource(svc), svc.info, SETTINGS).findings})


def test_healthy_service_raises_nothing_but_every_check_judges():
    svc = healthy(ticks=288)  # a day of 5-minute ticks: enough history for the anomaly detector to judge
    result = scan(FakeSource(svc), svc.info, SETTINGS)
    assert result.findings == []
    assert all(result.checked.get(k) for k in FINDING_KINDS), result.checked


def test_healthy_services_stay_quiet_across_seeds():
    assert all(kinds(healthy(seed=s, ticks=288)) == [] for s in range(8))


def test_nulls():
    svc = healthy()
    svc.features = svc.features.copy()
    svc.features[::4, 1] = np.nan
    assert kinds(svc) == ["null_rate"]


def test_feature_drift_needs_psi_and_ks_and_cites_both():
    svc = healthy()
    svc.features = svc.features + np.array([0, 0, 0, 1.5])
    result = scan(FakeSource(svc), svc.info, SETTINGS)
    assert [f.kind for f in result.findings] == ["feature_drift"]
    summary = result.findings[0].summary
    assert len(CITE.findall(summary)) == 2 and "d" in result.findings[0].figures["drifted_both"]


def test_ks_is_skipped_when_psi_flags_nothing():
    svc = healthy()
    result = scan(FakeSource(svc), svc.info, SETTINGS, kinds=("feature_drift",))
    assert [r.tool for r in result.results] == ["psi"]


def test_prediction_drift_and_accuracy_drop():
    svc = healthy()
    svc.predictions = svc.predictions ** 3  # scores pushed towards 0: shifted and wrong
    assert kinds(svc) == ["performance_drop", "prediction_drift"]


def test_latency_and_errors():
    svc = healthy(slo_p95_ms=100)
    svc.latency_ms = svc.latency_ms * 5
    svc.errors = 500
    assert kinds(svc) == ["error_rate", "latency_slo"]


def test_memory_climbing_towards_the_limit():
    svc = healthy()
    svc.metrics["mem_util"] = np.linspace(0.5, 0.85, len(svc.metrics["mem_util"]))
    result = scan(FakeSource(svc), svc.info, SETTINGS)
    assert [f.kind for f in result.findings] == ["memory_pressure"]
    assert CITE.search(result.findings[0].summary)


def test_high_but_flat_memory_is_not_a_leak():
    svc = healthy()
    svc.metrics["mem_util"] = 0.7 + np.random.default_rng(1).normal(0, 0.01, len(svc.metrics["mem_util"]))
    assert kinds(svc) == []


def test_memory_at_the_limit_fires_even_when_flat():
    svc = healthy()
    svc.metrics["mem_util"] = np.full(len(svc.metrics["mem_util"]), 0.95)
    assert kinds(svc) == ["memory_pressure"]


def test_verify_judges_a_new_accuracy_drop_strictly():
    svc = healthy(n=300, seed=4)
    svc.labels = svc.labels.copy()
    flip = np.random.default_rng(0).random(len(svc.labels)) < 0.06
    svc.labels[flip] = 1 - svc.labels[flip]
    lenient = scan(FakeSource(svc), svc.info, SETTINGS, kinds=("performance_drop",), accuracy_alpha=0.5)
    strict = scan(FakeSource(svc), svc.info, SETTINGS, kinds=("performance_drop",),
                  accuracy_alpha=SETTINGS.verify_accuracy_alpha)
    assert len(lenient.findings) >= len(strict.findings)
    assert strict.results[0].inputs["alpha"] == SETTINGS.verify_accuracy_alpha


def test_reference_profile_is_built_once_per_reference_content():
    svc = healthy()
    source = FakeSource(svc)
    first = reference_profile(source.reference("svc"))
    assert reference_profile(source.reference("svc")) is first  # a fresh copy of the same reference
    other = healthy(seed=9)
    assert reference_profile(FakeSource(other).reference("svc")) is not first


def test_tick_minutes_from_the_minute_series():
    svc = healthy()
    assert tick_minutes(FakeSource(svc).window("svc", 60)) == 5.0


def _anomaly(svc) -> list:
    return [f for f in scan(FakeSource(svc), svc.info, SETTINGS).findings if f.kind == "metric_anomaly"]


def test_a_traffic_collapse_under_every_slo_is_a_metric_anomaly():
    svc = healthy(ticks=288)
    svc.metrics["rps"] = svc.metrics["rps"].copy()
    svc.metrics["rps"][-3:] = 2.0  # requests stop arriving: no latency or error SLO can see it
    (found,) = _anomaly(svc)
    assert found.layer == "application" and found.severity == "warning"
    assert found.figures["metric"] == "rps" and found.figures["metrics"]["rps"] >= SETTINGS.anomaly_threshold
    assert found.summary.startswith("unusual rps 2 [tc-anomaly-") and len(CITE.findall(found.summary)) == 3


def test_metric_anomalies_count_only_in_the_harmful_direction_and_the_latest_window():
    recovering = healthy(ticks=288)
    recovering.metrics["utilization"] = recovering.metrics["utilization"].copy()
    recovering.metrics["utilization"][-3:] = 0.02  # load fell away: utilisation down is not a fault
    assert _anomaly(recovering) == []
    saturating = healthy(ticks=288)
    saturating.metrics["utilization"] = saturating.metrics["utilization"].copy()
    saturating.metrics["utilization"][-3:] = 0.95
    assert [f.figures["metric"] for f in _anomaly(saturating)] == ["utilization"]
    old = healthy(ticks=288)
    old.metrics["rps"] = old.metrics["rps"].copy()
    old.metrics["rps"][100:103] = 2.0  # over long before the latest window: history, not news
    assert _anomaly(old) == []


def test_too_little_history_means_the_anomaly_check_cannot_judge():
    svc = healthy(ticks=36)
    result = scan(FakeSource(svc), svc.info, SETTINGS, kinds=("metric_anomaly",))
    assert result.findings == [] and result.checked == {"metric_anomaly": False}


def test_a_rise_far_below_its_slo_is_not_material():
    svc = healthy(ticks=288)
    svc.metrics["error_rate"] = np.zeros(288)
    svc.metrics["error_rate"][-2:] = 0.001  # the first errors after a clean day: unusual, but 5% of the SLO
    assert _anomaly(svc) == []
    svc.metrics["error_rate"][-2:] = 0.015  # three quarters of the 2% SLO: worth an early look
    assert [f.figures["metric"] for f in _anomaly(svc)] == ["error_rate"]
