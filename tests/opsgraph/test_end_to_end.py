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


@pytest.mark.parametrize("prefix", ["01_", "02_", "03_", "04_"])
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
    # policy routed it: approval asked exactly when the ground truth says a human must approve
    assert bool(asked) == truth.requires_approval
    assert all(a.rule_id for a in actions)
    assert incident.status == "resolved", incident.summary
    assert len(outcome.incident_ids) == 1, "one fault, one incident"
    assert audit.verify(runtime.store).ok


@pytest.mark.parametrize("prefix", ["05_", "06_", "07_", "08_"])
def test_no_fault_control_raises_nothing(runtime: Runtime, prefix: str) -> None:
    sc = scenario(prefix)
    assert not sc.ground_truth.incident_expected
    outcome = run_scenario(runtime, sc, approver=None)
    assert outcome.incident_ids == []
    assert runtime.store.incidents() == []
