"""The whole scenario catalogue: every fault type raises the monitor's signal it should; controls raise none."""

from __future__ import annotations

import pytest
from sim_measures import alarms, run_until

from sims.faults import FAULTS
from sims.scenario import BUNDLED, load_scenarios
from sims.services import KINDS
from sims.world import SimWorld

CATALOGUE = load_scenarios(BUNDLED)
SIGNAL = {  # the monitor signal each fault type must raise on the services it hits
    "data_drift": {"feature_drift"},
    "single_feature_drift": {"feature_drift"},
    "schema_change": {"feature_drift"},
    "bad_model_deploy": {"score_drift"},
    "feedback_contamination": {"score_drift"},
    "semantic_drift": {"feature_drift", "score_drift"},
    "concept_drift": {"accuracy"},
    "gradual_decay": {"accuracy"},
    "label_drift": {"accuracy"},
    "fairness_drift": {"accuracy"},
    "latency_saturation": {"latency"},
    "traffic_surge": {"latency"},
    "memory_leak": {"errors"},
    "upstream_outage": {"errors"},
    "pipeline_nulls": {"nulls"},
    "feature_store_outage": {"nulls"},
}


def hit_services(scenario, fault):
    if FAULTS[fault.type].target_kind == "feature_store":
        return [s.name for s in scenario.services if s.feature_store == fault.target]
    return [fault.target]


def test_catalogue_size_and_coverage():
    assert len(CATALOGUE) >= 40
    assert sum(not s.ground_truth.incident_expected for s in CATALOGUE) >= 10
    assert sum(len(s.faults) > 1 or any(s.depends_on for s in s.services) and bool(s.faults) for s in CATALOGUE) >= 8
    assert {f.type for s in CATALOGUE for f in s.faults} == set(FAULTS) == set(SIGNAL)
    assert {sv.kind for s in CATALOGUE for sv in s.services} == set(KINDS)
    assert len(KINDS) >= 8 and len(FAULTS) >= 14


@pytest.mark.parametrize("scenario", [s for s in CATALOGUE if len(s.faults) == 1], ids=lambda s: s.name)
def test_each_fault_raises_its_signal_within_an_hour_of_full_strength(scenario):
    fault = scenario.faults[0]
    w = run_until(SimWorld.from_scenario(scenario), fault.start_min + fault.ramp_min + 60)
    for service in hit_services(scenario, fault):
        assert alarms(w, service) & SIGNAL[fault.type], (service, alarms(w, service))


@pytest.mark.slow
@pytest.mark.parametrize("scenario", CATALOGUE, ids=lambda s: s.name)
def test_every_tick_of_every_scenario(scenario):
    """Controls never cross a threshold; each fault's signal appears, and not before the fault starts."""
    w = SimWorld.from_scenario(scenario)
    first: dict[tuple[str, str], float] = {}
    while not w.done:
        w.advance(scenario.tick_min)
        for s in scenario.services:
            for signal in alarms(w, s.name):
                first.setdefault((s.name, signal), w.elapsed_min)
    if not scenario.faults:
        assert first == {}
    earliest = min((f.start_min for f in scenario.faults), default=None)
    assert all(t > earliest for t in first.values()) if first else True
    for fault in scenario.faults:
        for service in hit_services(scenario, fault):
            assert any((service, sig) in first for sig in SIGNAL[fault.type]), (fault.type, service, first)
