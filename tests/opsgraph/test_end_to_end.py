"""One incident per fault type travels the whole graph on real parts; controls stay quiet."""

from __future__ import annotations

from typing import Any

import pytest

from opsgraph.runtime import RunResult, Runtime
from opsgraph.scenario_run import run_scenario
from policies import audit
from sims.scenario import Scenario
from tests.opsgraph.conftest import scenario


def ground_truth_approver(truth_actions: list[str], runtime: Runtime, calls: list[str]) -> Any:
    """Approve what the ground truth names as correct, deny the rest (the benchmark's scripted approver)."""

    def answer(request: dict[str, Any], _result: RunResult) -> tuple[bool, str]:
        action = runtime.store.action(request["action_id"])
        assert action is not None
        calls.append(action.name)
        return action.name in truth_actions, "alice"

    return answer


# One single-fault scenario per fault type runs by default; the other fault scenarios are marked slow.
FAULT_TYPES = ["01_", "02_", "03_", "04_", "09_", "10_", "11_", "12_", "13_", "14_", "15_", "16_", "17_", "18_",
               "19_", "20_"]
MORE_FAULTS = ["21_", "22_", "23_", "24_", "25_", "26_", "27_", "28_", "29_", "30_", "32_", "33_"]
OVERLAPS = ["31_", "34_", "35_", "36_", "37_", "38_", "39_", "40_"]


@pytest.mark.parametrize("prefix", FAULT_TYPES + [pytest.param(p, marks=pytest.mark.slow) for p in MORE_FAULTS])
def test_fault_is_detected_diagnosed_fixed_and_verified(runtime: Runtime, prefix: str) -> None:
    sc: Scenario = scenario(prefix)
    truth = sc.ground_truth
    asked: list[str] = []
    outcome = run_scenario(runtime, sc, approver=ground_truth_approver(truth.remediation, runtime, asked))

    assert outcome.incident_ids, f"{sc.name}: fault not detected"
    incident = runtime.store.incident(outcome.incident_ids[0])
    assert incident is not None
    fault_start = outcome.fault_start
    assert fault_start is not None and incident.first_signal_at >= fault_start, "detected before the fault began"
    assert incident.layer == truth.layer
    assert incident.root_cause == truth.root_cause_component
    actions = runtime.store.actions(incident.id)
    executed = [a.name for a in actions if a.status == "executed"]
    assert sorted(set(executed)) == sorted(truth.remediation)
    # policy routed it: a human was asked whenever the ground truth says one must approve (the policy may
    # also ask for medium-risk changes the ground truth would let run alone), and every action has a rule
    if truth.requires_approval:
        assert asked
    assert set(asked) <= set(truth.remediation)
    assert all(a.rule_id for a in actions)
    assert incident.status == "resolved", incident.summary
    assert len(outcome.incident_ids) == 1, "one fault, one incident"
    assert audit.verify(runtime.store).ok


@pytest.mark.slow
@pytest.mark.parametrize("prefix", OVERLAPS)
def test_overlapping_faults_first_incident_names_a_true_cause(runtime: Runtime, prefix: str) -> None:
    from opsgraph.bench_incidents import causes, scripted_approver

    sc = scenario(prefix)
    approve = scripted_approver(runtime, sc)  # the benchmark's approver, answering as the local admin
    outcome = run_scenario(runtime, sc, approver=lambda request, result: (approve(request, result)[0], "alice"))
    incidents = sorted((runtime.store.incident(i) for i in outcome.incident_ids), key=lambda i: i.first_signal_at)
    assert incidents and incidents[0].root_cause in {c for c, _ in causes(sc)}
    assert incidents[0].status == "resolved"
    assert audit.verify(runtime.store).ok


@pytest.mark.parametrize("prefix", ["05_", "06_", "07_", "08_"]
                         + [pytest.param(p, marks=pytest.mark.slow) for p in ["41_", "42_", "43_", "44_", "45_", "46_"]])
def test_no_fault_control_raises_nothing(runtime: Runtime, prefix: str) -> None:
    sc = scenario(prefix)
    assert not sc.ground_truth.incident_expected
    outcome = run_scenario(runtime, sc, approver=None)
    assert outcome.incident_ids == []
    assert runtime.store.incidents() == []


def test_a_denied_action_never_runs_and_the_incident_moves_on(runtime: Runtime) -> None:
    sc = scenario("02_")
    outcome = run_scenario(runtime, sc, approver=lambda request, _result: (False, "alice"))
    incident = runtime.store.incident(outcome.incident_ids[0])
    assert incident is not None and incident.status in ("escalated", "resolved")
    actions = runtime.store.actions(incident.id)
    assert not [a for a in actions if a.name == "rollback_model" and a.status == "executed"]
    assert any(a.status == "rejected" for a in runtime.store.approvals(incident_id=incident.id))
    kinds = [e.kind for e in runtime.store.audit_entries(incident.id)]
    assert "approval.rejected" in kinds or any(k.startswith("approval.") and "reject" in k for k in kinds), kinds
