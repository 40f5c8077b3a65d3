"""Remediation parameters and targets: from platform facts and events, on the service where the cause is."""

from __future__ import annotations

import numpy as np

from agents.remediate import EXPECTED_EFFECT, action_params, target_service
from agents.state import Hypothesis
from policies.catalogue import Catalogue
from tests.agents.conftest import NOW, FakeSource, event, healthy

STATE = {"observed_at": NOW.isoformat()}


def hyp(component: str, *actions: str) -> Hypothesis:
    return Hypothesis(layer="infrastructure", component=component, cause="test", score=0.9, actions=list(actions))


def test_every_planned_action_is_in_the_catalogue_with_an_expected_effect():
    from agents.diagnose import CAUSE_RULES

    catalogue = Catalogue.load()
    for rule in CAUSE_RULES:
        for name in rule.actions:
            assert catalogue.get(name) is not None, name
            assert name in EXPECTED_EFFECT, name


def test_action_targets_the_service_that_owns_the_root_cause():
    up, down = healthy("fraud-api"), healthy("gateway", depends_on=["fraud-api"])
    source = FakeSource(up, down)
    assert target_service(hyp("fraud-api.serving", "shift_traffic"), source, "gateway") == "fraud-api"
    assert target_service(hyp("gateway.traffic", "scale_up"), source, "gateway") == "gateway"
    # a feature store is not a service: the reader switches away from it
    assert target_service(hyp("online-store.store", "switch_feature_store"), source, "gateway") == "gateway"


def test_rollback_goes_back_past_the_release_that_preceded_the_signal():
    svc = healthy(model_version="v3", model_versions=["v1", "v2", "v3"])
    source = FakeSource(svc, events=[event("deploy", minutes_ago=40, **{"from": "v1", "to": "v3"})])
    assert action_params("rollback_model", svc.info, source, STATE, []) == {"to_version": "v1"}
    quiet = FakeSource(svc)
    assert action_params("rollback_model", svc.info, quiet, STATE, []) == {"to_version": "v2"}


def test_prompt_pin_restores_the_prompt_before_the_release():
    svc = healthy(kind="chat")
    source = FakeSource(svc, events=[event("prompt_deploy", minutes_ago=30, **{"from": "p1", "to": "p2"})])
    assert action_params("pin_prompt_version", svc.info, source, STATE, []) == {"version": "p1"}
    assert action_params("pin_prompt_version", svc.info, FakeSource(svc), STATE, []) == {}


def test_scale_up_is_sized_by_a_cited_tool_call():
    svc = healthy(replicas=2, max_replicas=10)
    svc.metrics["utilization"] = np.full(len(svc.metrics["utilization"]), 1.2)
    calls: list[dict] = []
    params = action_params("scale_up", svc.info, FakeSource(svc), STATE, calls)
    assert params["replicas"] > 2 and calls and calls[0]["tool"] == "scaling"


def test_retrain_waits_for_labels_of_the_new_regime():
    svc = healthy()
    svc.labels = svc.labels[:100]  # too few labels: the retrain waits (bounded) for more
    source = FakeSource(svc)
    params = action_params("retrain_model", svc.info, source, STATE, [])
    assert source.waited > 0 and params["window_min"] >= 30 and params["reference_min"] <= 60


def test_traffic_shift_moves_all_of_it():
    svc = healthy()
    assert action_params("shift_traffic", svc.info, FakeSource(svc), STATE, []) == {"share": 1.0}
