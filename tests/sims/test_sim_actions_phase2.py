"""Phase-2 actions heal the faults they address (and only those), propagate through dependencies, and undo."""

from __future__ import annotations

import pytest
from sim_measures import alarms, null_rate, run_until

from sims.scenario import BUNDLED, load_scenario
from sims.world import SimWorld
from tools.actions import PlannedAction, PlatformError


def at(name: str, minute: float) -> SimWorld:
    return run_until(SimWorld.from_scenario(load_scenario(BUNDLED / name)), minute)


def act(name: str, service: str, **params) -> PlannedAction:
    return PlannedAction(name=name, service=service, params=params)


def test_switch_feature_store_routes_around_the_outage_and_restart_does_not():
    w = at("20_feature_store_outage_online.yaml", 150)
    w.execute(act("restart_pipeline", "fraud-api"))
    w.advance(30)
    assert null_rate(w, "fraud-api", 30) > 0.1  # wrong action
    switch = act("switch_feature_store", "fraud-api")
    assert w.execute(switch).after["feature_store"] == "fallback"
    w.advance(30)
    assert null_rate(w, "fraud-api", 30) == 0
    assert null_rate(w, "recsys", 30) > 0.1  # the other reader still needs its own switch
    assert "feature_drift" not in alarms(w, "fraud-api")  # the fallback is only slightly stale
    w.undo(switch)
    w.advance(30)
    assert null_rate(w, "fraud-api", 30) > 0.1


def test_shift_traffic_routes_around_an_outage_and_the_gateway_recovers():
    w = at("18_upstream_outage_fraud.yaml", 150)
    assert "errors" in alarms(w, "fraud-api") and "errors" in alarms(w, "api-gateway")
    shift = act("shift_traffic", "fraud-api", share=1.0)
    w.execute(shift)
    w.advance(60)
    assert "errors" not in alarms(w, "fraud-api") and "errors" not in alarms(w, "api-gateway")
    w.undo(shift)
    w.advance(60)
    assert "errors" in alarms(w, "api-gateway")


def test_scaling_the_cause_fixes_the_gateway_symptom():
    w = at("32_dependency_saturation_to_gateway.yaml", 150)
    assert "latency" in alarms(w, "api-gateway")
    w.execute(act("scale_up", "api-gateway", replicas=10))  # scaling the symptom does nothing
    w.advance(20)
    assert "latency" in alarms(w, "api-gateway")
    w.execute(act("scale_up", "fraud-api", replicas=12))
    w.advance(20)
    assert "latency" not in alarms(w, "api-gateway")
    assert w.window("api-gateway", 10).metrics["error_rate"].max() < 0.02  # the 60-min error rate lags


def test_quarantine_feedback_stops_the_loop_and_undo_releases_it():
    w = at("16_feedback_contamination_fraud.yaml", 150)
    assert "score_drift" in alarms(w, "fraud-api")
    quarantine = act("quarantine_feedback", "fraud-api", since="2026-01-05T02:00:00+00:00")
    w.execute(quarantine)
    w.advance(60)
    assert "score_drift" not in alarms(w, "fraud-api")
    w.undo(quarantine)
    w.advance(60)
    assert "score_drift" in alarms(w, "fraud-api")


def test_pin_prompt_version_fixes_semantic_drift_and_outputs_are_text():
    w = at("17_semantic_drift_chat.yaml", 170)
    assert alarms(w, "support-chat") & {"feature_drift", "score_drift"}
    assert w.state("support-chat")["prompt_version"] == "p2"
    texts = w.outputs("support-chat", 30)
    assert len(texts) == len(w.window("support-chat", 30).predictions) and all(isinstance(t, str) and t for t in texts)
    pin = act("pin_prompt_version", "support-chat")
    assert w.execute(pin).after["prompt_version"] == "p1"
    w.advance(60)
    assert not alarms(w, "support-chat") & {"feature_drift", "score_drift"}
    w.undo(pin)
    assert w.state("support-chat")["prompt_version"] == "p2"
    with pytest.raises(PlatformError, match="not a generative service"):
        w.outputs("fraud-api", 30)


def test_rollback_fixes_a_memory_leak():
    w = at("15_memory_leak_recsys.yaml", 220)
    assert "errors" in alarms(w, "recsys") and w.state("recsys")["model_version"] == "v2"
    w.execute(act("rollback_model", "recsys"))
    w.advance(60)
    assert "errors" not in alarms(w, "recsys")
    assert w.state("recsys")["mem_util"] < 0.7


def test_escalate_changes_nothing_but_records_an_event():
    w = at("05_control_quiet_night.yaml", 0)
    before = w.state("fraud-api")
    w.execute(act("escalate", "fraud-api", message="look at this", team="ml-oncall"))
    assert w.state("fraud-api") == before
    assert w.events("fraud-api", w.scenario.start)[-1].kind == "escalation"


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (act("switch_feature_store", "api-gateway"), "reads no feature store"),
        (act("switch_feature_store", "fraud-api", store="nowhere"), "unknown store"),
        (act("shift_traffic", "fraud-api", share=1.5), "share must be"),
        (act("shift_traffic", "fraud-api", to_version="v7"), "unknown target"),
        (act("pin_prompt_version", "fraud-api"), "has no prompts"),
        (act("quarantine_feedback", "fraud-api", since="yesterday"), "ISO time"),
        (act("restart_pipeline", "fraud-api", pipeline="other.pipeline"), "runs pipeline"),
    ],
)
def test_bad_phase2_requests_raise_platform_error(action, message):
    w = at("18_upstream_outage_fraud.yaml", 0)
    with pytest.raises(PlatformError, match=message):
        w.execute(action)
