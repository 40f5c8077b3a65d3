"""Feedback-loop guard: no retrain on labels that echo the model until they are quarantined, also at execution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.compliance import compliance_node
from agents.deps import AgentDeps
from agents.execute import execute_node
from agents.state import PlanStep
from memory.models import ActionRow, IncidentRow
from memory.store import Store
from policies.engine import PolicyEngine
from tests.agents.test_gate_properties import CATALOGUE, ROLES, START, RecordingPlatform, Registry, StaticSource
from tools.actions import PlannedAction
from tools.observations import ServiceInfo


def run_gate(tmp_path: Path, names: list[str], environment: str = "staging") -> tuple[list[PlanStep], list[str]]:
    store = Store(f"sqlite:///{tmp_path / 'guard.sqlite'}")
    platform = RecordingPlatform()
    deps = AgentDeps(store=store, sources=Registry(StaticSource(ServiceInfo(name="svc", environment=environment)),
                                                   platform),
                     catalogue=CATALOGUE, policy=PolicyEngine.load(), roles=ROLES, clock=lambda: START)
    store.add(IncidentRow(id="inc-1", service="svc", source_id="w", status="open", opened_at=START))
    planned = [PlannedAction(name=n, service="svc", params={"window_min": 120} if n == "retrain_model" else {})
               for n in names]
    store.add(*[ActionRow(id=a.action_id, incident_id="inc-1", name=a.name, service=a.service, params=a.params,
                          params_hash=a.params_hash, planned_at=START) for a in planned])
    state: dict[str, Any] = {"incident_id": "inc-1", "source_id": "w", "service": "svc",
                             "findings": [{"kind": "feedback_echo"}], "diagnosis": {"confidence": 0.9},
                             "plan": [PlanStep(action=a.model_dump(mode="json")).model_dump(mode="json")
                                      for a in planned]}
    state.update(compliance_node(state, deps))
    state.update(execute_node(state, deps))
    return [PlanStep(**s) for s in state["plan"]], [a.name for a in platform.executed]


def test_retrain_on_echoing_labels_is_denied_and_never_runs(tmp_path: Path) -> None:
    steps, executed = run_gate(tmp_path, ["retrain_model"])
    assert steps[0].outcome == "deny" and steps[0].rule_id == "feedback.no_retrain_on_contaminated_labels"
    assert executed == []


def test_quarantine_first_then_retrain_is_allowed(tmp_path: Path) -> None:
    steps, executed = run_gate(tmp_path, ["quarantine_feedback", "retrain_model"])
    assert [s.outcome for s in steps] == ["auto", "auto"]
    assert executed == ["quarantine_feedback", "retrain_model"]


def test_execute_running_again_after_a_restart_never_runs_an_action_twice(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'again.sqlite'}")
    platform = RecordingPlatform()
    deps = AgentDeps(store=store, sources=Registry(StaticSource(ServiceInfo(name="svc", environment="staging")),
                                                   platform),
                     catalogue=CATALOGUE, policy=PolicyEngine.load(), roles=ROLES, clock=lambda: START)
    store.add(IncidentRow(id="inc-1", service="svc", source_id="w", status="open", opened_at=START))
    action = PlannedAction(name="quarantine_feedback", service="svc", params={})
    store.add(ActionRow(id=action.action_id, incident_id="inc-1", name=action.name, service=action.service,
                        params=action.params, params_hash=action.params_hash, planned_at=START))
    state: dict[str, Any] = {"incident_id": "inc-1", "source_id": "w", "service": "svc", "findings": [],
                             "diagnosis": {"confidence": 0.9},
                             "plan": [PlanStep(action=action.model_dump(mode="json")).model_dump(mode="json")]}
    state.update(compliance_node(state, deps))
    before = dict(state)
    first = execute_node(before, deps)  # the process dies after this, before the checkpoint: the node runs again
    again = execute_node(before, deps)
    assert [a.name for a in platform.executed] == ["quarantine_feedback"]
    assert [PlanStep(**s).status for s in again["plan"]] == ["executed"]
    assert PlanStep(**again["plan"][0]).result == PlanStep(**first["plan"][0]).result
    assert "already executed before the restart" in again["timeline"][0]["text"]
