"""Each fault really degrades what it should, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from sim_measures import (
    feature_psi,
    ks_p,
    live_accuracy,
    null_rate,
    p95,
    psi,
    reference_accuracy,
    run_until,
    world,
)


@pytest.fixture(scope="module")
def drift():
    return run_until(world("01_data_drift.yaml"), 240)


@pytest.fixture(scope="module")
def bad_deploy():
    return run_until(world("02_bad_model_deploy.yaml"), 240)


@pytest.fixture(scope="module")
def saturation():
    return run_until(world("03_latency_saturation.yaml"), 150)


@pytest.fixture(scope="module")
def nulls():
    return run_until(world("04_pipeline_nulls.yaml"), 240)


def test_data_drift_shifts_features_and_costs_accuracy(drift):
    scores = feature_psi(drift, "fraud-api")
    shifted = ["amount", "merchant_risk", "device_score"]
    assert all(scores[f] > 0.25 for f in shifted), scores
    assert all(scores[f] < 0.2 for f in scores if f not in shifted), scores
    ref, win = drift.reference("fraud-api"), drift.window("fraud-api", 60)
    assert ks_p(ref.features[:, 0], win.features[:, 0]) < 0.001
    assert reference_accuracy(drift, "fraud-api") >= 0.85
    assert reference_accuracy(drift, "fraud-api") - live_accuracy(drift, "fraud-api") >= 0.05
    assert max(feature_psi(drift, "credit-score").values()) < 0.2  # the other service is untouched


def test_data_drift_crosses_psi_within_30_minutes_of_full_magnitude():
    w = run_until(world("01_data_drift.yaml"), 150 + 30)  # start 120, ramp 30
    assert max(feature_psi(w, "fraud-api").values()) > 0.25


def test_bad_model_deploy_changes_model_not_features(bad_deploy):
    events = bad_deploy.events("credit-score", bad_deploy.scenario.start)
    deploys = [e for e in events if e.kind == "deploy"]
    assert [(e.detail["from"], e.detail["to"]) for e in deploys] == [("v1", "v2")]
    assert deploys[0].at == bad_deploy.scenario.start.replace(hour=2)
    assert bad_deploy.state("credit-score")["model_version"] == "v2"
    assert max(feature_psi(bad_deploy, "credit-score").values()) < 0.2
    ref, win = bad_deploy.reference("credit-score"), bad_deploy.window("credit-score", 60)
    assert psi(ref.predictions, win.predictions) > 0.25
    assert reference_accuracy(bad_deploy, "credit-score") >= 0.85  # v2 validated well offline
    assert reference_accuracy(bad_deploy, "credit-score") - live_accuracy(bad_deploy, "credit-score") >= 0.05


def test_latency_saturation_breaks_the_slo_not_the_model(saturation):
    slo = saturation.scenario.service("fraud-api").slo_p95_ms
    assert p95(saturation, "fraud-api") > slo
    metrics = saturation.window("fraud-api", 15).metrics
    assert metrics["gpu_util"].min() > 0.95 and metrics["utilization"].min() > 0.95
    w = run_until(saturation, 240)
    assert reference_accuracy(w, "fraud-api") - live_accuracy(w, "fraud-api") < 0.04
    assert max(feature_psi(w, "fraud-api").values()) < 0.2
    assert p95(w, "credit-score") < w.scenario.service("credit-score").slo_p95_ms


def test_pipeline_nulls_blank_features_and_cost_accuracy(nulls):
    win = nulls.window("credit-score", 60)
    rates = dict(zip(win.feature_names, np.isnan(win.features).mean(axis=0), strict=True))
    assert rates["debt_ratio"] > 0.1 and rates["history_months"] > 0.1
    assert rates["income"] == 0
    assert not np.isnan(win.predictions).any()  # serving imputes
    assert reference_accuracy(nulls, "credit-score") - live_accuracy(nulls, "credit-score") >= 0.05
    assert null_rate(nulls, "fraud-api") == 0
    assert nulls.state("credit-score")["pipeline_healthy"] is False


def test_faults_do_nothing_before_they_start():
    w = run_until(world("04_pipeline_nulls.yaml"), 115)
    assert null_rate(w, "credit-score", 120) == 0
    assert w.active_faults() == []
    w.advance(10)
    assert [f["type"] for f in w.active_faults()] == ["pipeline_nulls"]
