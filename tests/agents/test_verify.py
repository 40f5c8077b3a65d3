"""Verify's judgement of a scaling step: another round while the scaled service is still short of capacity."""

from __future__ import annotations

import numpy as np

from agents.verify import _scaling_helped
from tests.agents.conftest import FakeSource, finding, healthy


def state(p95_before: float) -> dict:
    step = {"action": {"name": "scale_up", "service": "svc", "params": {"replicas": 4}}, "status": "executed"}
    return {"plan": [step], "rounds": 0, "findings": [finding("latency_slo", p95_ms=p95_before).model_dump()]}


def test_lower_p95_earns_another_round():
    assert _scaling_helped(state(900.0), [finding("latency_slo", p95_ms=400.0)])


def test_worse_p95_but_still_saturated_earns_another_round():
    svc = healthy(replicas=4, max_replicas=10)
    svc.metrics["utilization"] = np.full(len(svc.metrics["utilization"]), 1.4)
    results: list = []
    assert _scaling_helped(state(500.0), [finding("latency_slo", p95_ms=2000.0)], FakeSource(svc), 60.0, results)
    assert results and results[0].tool == "resource_trend"


def test_worse_p95_with_spare_capacity_is_undone():
    svc = healthy(replicas=4, max_replicas=10)
    assert not _scaling_helped(state(500.0), [finding("latency_slo", p95_ms=2000.0)], FakeSource(svc), 60.0, [])


def test_no_more_rounds_at_the_replica_limit_or_with_other_signals():
    svc = healthy(replicas=10, max_replicas=10)
    svc.metrics["utilization"] = np.full(len(svc.metrics["utilization"]), 1.4)
    assert not _scaling_helped(state(500.0), [finding("latency_slo", p95_ms=2000.0)], FakeSource(svc), 60.0, [])
    assert not _scaling_helped(state(900.0), [finding("latency_slo", p95_ms=400.0), finding("null_rate")])


def test_a_later_round_compares_p95_with_the_previous_verify_not_the_first_sighting():
    caught_early = {**state(140.0), "last_p95_ms": 2100.0}  # found at 140 ms while the fault still ramped
    assert _scaling_helped(caught_early, [finding("latency_slo", p95_ms=365.0)])
    assert not _scaling_helped({**state(140.0), "last_p95_ms": 300.0}, [finding("latency_slo", p95_ms=365.0)])


def test_an_overloaded_service_is_judged_early_after_scaling():
    from agents.verify import _scaled_service, _still_overloaded

    svc = healthy()
    svc.metrics["utilization"] = np.full(len(svc.metrics["rps"]), 1.3)  # arrivals 30% over capacity
    results: list = []
    assert _scaled_service(state(500.0)) == "svc"
    assert _still_overloaded(FakeSource(svc), "svc", 30.0, results)
    assert results[0].tool == "resource_trend" and results[0].figure("level") >= 1.0
    svc.metrics["utilization"] = np.full(len(svc.metrics["rps"]), 0.95)  # busy but keeping up: wait it out
    assert not _still_overloaded(FakeSource(svc), "svc", 30.0, [])
    del svc.metrics["utilization"]
    assert not _still_overloaded(FakeSource(svc), "svc", 30.0, [])
    rollback = {"plan": [{"action": {"name": "rollback_model", "service": "svc", "params": {}}, "status": "executed"}]}
    assert _scaled_service(rollback) is None
