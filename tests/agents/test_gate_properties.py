"""Property tests of the compliance gate: over random plans, policies, clocks and humans, nothing risky runs unasked.

The gate is the compliance node, the approval records and the execute node, run for real against a
SQLite store and the real policy engine; the platform records what it was asked to execute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.compliance import compliance_node
from agents.deps import AgentDeps
from agents.execute import execute_node
from agents.state import PlanStep
from memory.models import ActionRow, IncidentRow
from memory.store import Store
from policies import approvals
from policies.catalogue import Catalogue
from policies.engine import PolicyEngine, PolicyFile
from policies.roles import RoleBook, has_role
from tools.actions import ActionResult, PlannedAction
from tools.observations import ServiceInfo

CATALOGUE = Catalogue.load()
ACTIONS = {
    "rollback_model": {"to_version": "v1"}, "retrain_model": {"window_min": 120}, "scale_up": {"replicas": 4},
    "scale_down": {"replicas": 1}, "restart_pipeline": {}, "shift_traffic": None, "quarantine_feedback": None,
    "delete_training_data": None, "switch_feature_store": None, "pin_prompt_version": None, "frobnicate": {},
}
ROLES = RoleBook(users={"ann": ["approver"], "bob": ["approver"], "root": ["admin"], "vic": ["viewer"],
                        "ops": ["operator"]}, default_roles=["viewer"])
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _params(name: str) -> dict[str, Any]:
    """Valid parameters for a catalogue action (required ones filled with plausible values)."""
    fixed = ACTIONS.get(name)
    if fixed is not None:
        return dict(fixed)
    spec = CATALOGUE.get(name)
    values = {"str": "x", "int": 2, "float": 0.5, "bool": True, "list": [], "dict": {}}
    return {p: values[s.type] for p, s in (spec.params.items() if spec else []) if s.required}


@dataclass
class RecordingPlatform:
    """Applies nothing; remembers every action it was asked to execute."""

    executed: list[PlannedAction] = field(default_factory=list)

    def supported_actions(self) -> list[str]:
        return list(ACTIONS)

    def execute(self, action: PlannedAction) -> ActionResult:
        self.executed.append(action)
        return ActionResult(action_id=action.action_id, name=action.name, service=action.service, ok=True)

    def undo(self, action: PlannedAction) -> ActionResult:
        return ActionResult(action_id=action.action_id, name=action.name, service=action.service, ok=True)


@dataclass
class StaticSource:
    """One service, a fixed clock."""

    info: ServiceInfo

    def services(self) -> list[ServiceInfo]:
        return [self.info]

    def now(self) -> datetime:
        return START


@dataclass
class Registry:
    source: StaticSource
    platform: RecordingPlatform

    def open(self, source_id: str) -> tuple[StaticSource, RecordingPlatform]:
        return self.source, self.platform

    def commit(self, source_id: str) -> None:
        return None


rule = st.fixed_dictionaries(
    {"id": st.sampled_from(["r1", "r2", "r3", "r4"]), "outcome": st.sampled_from(["auto", "approval", "deny"])},
    optional={"when": st.fixed_dictionaries({}, optional={
        "action": st.sampled_from(list(ACTIONS)), "environment": st.sampled_from(["production", "staging"]),
        "risk": st.sampled_from(["low", "medium", "high", "critical"])}),
        "required_role": st.sampled_from(["operator", "approver", "admin"]),
        "required_count": st.integers(1, 2), "expires_after_min": st.integers(1, 120)})
human = st.fixed_dictionaries({
    "who": st.sampled_from(["ann", "bob", "root", "vic", "ops"]),
    "second": st.sampled_from([None, "ann", "bob", "root", "vic"]),
    "approve": st.booleans(),
    "after_min": st.floats(0, 180),
    "tamper": st.booleans(),
})


def _unique_ids(rules: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in rules:
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.sampled_from(list(ACTIONS)), min_size=1, max_size=3),
       environment=st.sampled_from(["production", "staging"]), rules=st.lists(rule, min_size=1, max_size=4),
       humans=st.lists(human, min_size=3, max_size=3), confidence=st.floats(0, 1))
def test_nothing_risky_or_denied_executes_without_a_valid_bound_approval(
        tmp_path_factory: Any, names: list[str], environment: str, rules: list[dict], humans: list[dict],
        confidence: float) -> None:
    home: Path = tmp_path_factory.mktemp("gate")
    store = Store(f"sqlite:///{home / 'gate.sqlite'}")
    policy = PolicyEngine(PolicyFile.model_validate({"rules": _unique_ids(rules)}))
    platform = RecordingPlatform()
    info = ServiceInfo(name="svc", environment=environment, max_replicas=8)
    clock = {"now": START}
    deps = AgentDeps(store=store, sources=Registry(StaticSource(info), platform), catalogue=CATALOGUE,
                     policy=policy, roles=ROLES, clock=lambda: clock["now"])
    store.add(IncidentRow(id="inc-1", service="svc", source_id="w", status="open", opened_at=START))
    planned = [PlannedAction(name=n, service="svc", params=_params(n)) for n in names]
    store.add(*[ActionRow(id=a.action_id, incident_id="inc-1", name=a.name, service=a.service, params=a.params,
                          params_hash=a.params_hash, planned_at=START) for a in planned])
    state: dict[str, Any] = {"incident_id": "inc-1", "source_id": "w", "service": "svc",
                             "diagnosis": {"confidence": confidence},
                             "plan": [PlanStep(action=a.model_dump(mode="json")).model_dump(mode="json")
                                      for a in planned]}
    state.update(compliance_node(state, deps))
    steps = [PlanStep(**s) for s in state["plan"]]
    decided = {s.action["action_id"]: s.outcome for s in steps}

    # Humans answer each request: right or wrong role, in time or late, sometimes after the action changed.
    for step, person in zip(steps, humans):
        if step.approval_id is None:
            continue
        if person["tamper"]:
            store.update_action(step.action["action_id"], params_hash="0" * 64)
        at = START + timedelta(minutes=person["after_min"])
        for user in filter(None, (person["who"], person["second"])):
            try:
                approvals.decide(store, step.approval_id, user=user, roles=ROLES.roles_of(user),
                                 approve=person["approve"], now=at)
            except approvals.ApprovalError:
                pass
        clock["now"] = at

    # An adversarial resume: every pending step claims to be approved. The execute node must not believe it.
    for step in steps:
        if step.status == "pending_approval":
            step.status = "approved"
    state["plan"] = [s.model_dump(mode="json") for s in steps]
    execute_node(state, deps)

    for action in platform.executed:
        spec = CATALOGUE.get(action.name)
        assert spec is not None, f"{action.name} is not in the catalogue but ran"
        assert decided[action.action_id] != "deny", f"denied {action.name} ran"
        risky = (not spec.reversible or spec.risk == "critical"
                 or (spec.risk == "high" and environment == "production"))
        if risky or decided[action.action_id] == "approval":
            rows = [r for r in store.approvals(incident_id="inc-1") if r.action_id == action.action_id]
            valid = [r for r in rows if r.status == "approved" and r.params_hash == action.params_hash
                     and r.decided_at is not None and r.decided_at < r.expires_at
                     and len(set(r.approvers)) >= r.required_count
                     and all(has_role(ROLES.roles_of(u), r.required_role) and has_role(ROLES.roles_of(u), "approver")
                             for u in r.approvers)]
            assert valid, f"{action.name} ({spec.risk}, reversible={spec.reversible}) ran without a valid approval"
            stored = store.action(action.action_id)
            assert stored is not None and stored.params_hash == action.params_hash
