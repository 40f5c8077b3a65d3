"""Actions really change the simulated platform, heal only the fault they address, and undo."""

from __future__ import annotations

import numpy as np
import pytest
from sim_measures import feature_psi, live_accuracy, null_rate, p95, psi, reference_accuracy, run_until, world

from sims.world import SimWorld
from tools.actions import Platform, PlannedAction, PlatformError, TransientPlatformError
from tools.observations import MetricSource


def act(name: str, service: str, **params) -> PlannedAction:
    return PlannedAction(name=name, service=service, params=params)


def test_world_implements_both_protocols():
    w = world("05_control_quiet_night.yaml")
    assert isinstance(w, MetricSource) and isinstance(w, Platform)
    assert set(w.supported_actions()) >= {"rollback_model", "retrain_model", "scale_up", "scale_down", "restart_pipeline"}


def test_rollback_restores_v1_predictions_and_accuracy_and_undo_redeploys_v2():
    w = run_until(world("02_bad_model_deploy.yaml"), 180)
    svc = w._svc("credit-score")
    X = svc.kind.sample(np.random.default_rng(0), 50)
    v1_scores = svc.versions["v1"].score(X)
    rollback = act("rollback_model", "credit-score")
    result = w.execute(rollback)
    assert result.ok and result.before["model_version"] == "v2" and result.after["model_version"] == "v1"
    np.testing.assert_array_equal(svc.live.score(X), v1_scores)
    w.advance(150)  # labels of post-rollback requests mature
    assert reference_accuracy(w, "credit-score") - live_accuracy(w, "credit-score") < 0.04
    assert psi(w.reference("credit-score").predictions, w.window("credit-score", 60).predictions) < 0.2
    undone = w.undo(rollback)
    assert undone.after["model_version"] == "v2"
    kinds = [(e.kind, e.detail.get("to")) for e in w.events("credit-score", w.scenario.start)]
    assert kinds == [("deploy", "v2"), ("rollback", "v1"), ("deploy", "v2")]


def test_scale_up_brings_p95_under_slo_and_undo_brings_saturation_back():
    w = run_until(world("03_latency_saturation.yaml"), 160)
    slo = w.scenario.service("fraud-api").slo_p95_ms
    assert p95(w, "fraud-api") > slo
    scale = act("scale_up", "fraud-api", replicas=12)
    assert w.execute(scale).after["replicas"] == 12
    w.advance(30)
    assert p95(w, "fraud-api", 20) < slo
    assert w.window("fraud-api", 20).metrics["utilization"].max() < 0.7
    assert w.undo(scale).after["replicas"] == 2
    w.advance(30)
    assert p95(w, "fraud-api", 20) > slo


def test_restart_pipeline_stops_nulls_but_scaling_does_not():
    w = run_until(world("04_pipeline_nulls.yaml"), 150)
    w.execute(act("scale_up", "credit-score", replicas=4))
    w.advance(30)
    assert null_rate(w, "credit-score", 30) > 0.1  # wrong action: no healing
    restart = act("restart_pipeline", "credit-score")
    assert w.execute(restart).after["pipeline_healthy"] is True
    w.advance(30)
    assert null_rate(w, "credit-score", 30) == 0
    assert w.active_faults() == []
    w.undo(restart)  # harmless: the pipeline stays healthy
    w.advance(30)
    assert null_rate(w, "credit-score", 30) == 0
    assert w.events("credit-score", w.scenario.start)[-1].kind == "undo"


def test_restart_pipeline_does_not_heal_drift_or_a_bad_model():
    w = run_until(world("01_data_drift.yaml"), 200)
    w.execute(act("restart_pipeline", "fraud-api"))
    w.advance(60)
    assert max(feature_psi(w, "fraud-api").values()) > 0.25
    assert [f["type"] for f in w.active_faults()] == ["data_drift"]


def test_retrain_after_drift_restores_accuracy_on_new_data_and_undo_restores_the_reference():
    w = run_until(world("01_data_drift.yaml"), 240)
    drifted = reference_accuracy(w, "fraud-api") - live_accuracy(w, "fraud-api")
    assert drifted >= 0.05
    old_reference = w.reference("fraud-api").features
    retrain = act("retrain_model", "fraud-api")
    result = w.execute(retrain)
    assert result.after["model_version"] == "v2" and result.after["model_versions"] == ["v1", "v2"]
    w.advance(150)
    assert reference_accuracy(w, "fraud-api") >= 0.85
    assert reference_accuracy(w, "fraud-api") - live_accuracy(w, "fraud-api") < 0.04
    assert max(feature_psi(w, "fraud-api").values()) < 0.2  # drift measured against the new reference
    w.undo(retrain)
    assert w.state("fraud-api")["model_version"] == "v1"
    np.testing.assert_array_equal(w.reference("fraud-api").features, old_reference)
    assert [e.kind for e in w.events("fraud-api", w.scenario.start)] == ["retrain", "deploy"]


def test_execute_is_idempotent_per_action_id():
    w = world("05_control_quiet_night.yaml")
    scale = act("scale_up", "fraud-api")  # default target: double
    first = w.execute(scale)
    again = w.execute(scale)
    assert first == again and w.state("fraud-api")["replicas"] == 4
    assert len(w.events("fraud-api", w.scenario.start)) == 1
    assert w.undo(scale) == w.undo(scale)
    assert w.state("fraud-api")["replicas"] == 2
    with pytest.raises(PlatformError, match="different parameters"):
        w.execute(scale.model_copy(update={"params": {"replicas": 3}}))


def test_scale_down_and_undo():
    w = world("05_control_quiet_night.yaml")
    down = act("scale_down", "credit-score", replicas=1)
    assert w.execute(down).after["replicas"] == 1
    assert w.undo(down).after["replicas"] == 2


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (act("scale_up", "nowhere"), "unknown service"),
        (act("explode", "fraud-api"), "unsupported action"),
        (act("scale_up", "fraud-api", replicas=99), "replicas must be in"),
        (act("scale_up", "fraud-api", replicas=1), "use scale_down"),
        (act("scale_up", "fraud-api", replicas="3"), "must be"),
        (act("scale_up", "fraud-api", pods=3), "unknown params"),
        (act("rollback_model", "fraud-api"), "no earlier live version"),
        (act("rollback_model", "fraud-api", to_version="v9"), "unknown version"),
        (act("retrain_model", "fraud-api", window_min=-1), "window_min"),
    ],
)
def test_bad_requests_raise_platform_error(action, message):
    w = world("05_control_quiet_night.yaml")
    with pytest.raises(PlatformError, match=message):
        w.execute(action)
    assert w.events("fraud-api", w.scenario.start) == []


def test_undo_of_an_unknown_action_is_an_error():
    w = world("05_control_quiet_night.yaml")
    with pytest.raises(PlatformError, match="never executed"):
        w.undo(act("scale_up", "fraud-api"))


def test_transient_failures_are_injected_before_anything_changes():
    w = SimWorld.from_scenario(world("05_control_quiet_night.yaml").scenario, transient_failure_rate=0.5)
    failures = 0
    for i in range(20):
        a = act("scale_down", "fraud-api", replicas=2) if i % 2 else act("scale_up", "fraud-api", replicas=3)
        while True:
            try:
                w.execute(a)
                break
            except TransientPlatformError:
                failures += 1
        assert w.state("fraud-api")["replicas"] == 3 - (i % 2)
    assert 3 <= failures <= 60
    assert len(w.events("fraud-api", w.scenario.start)) == 20
