"""Execute and undo: carry out approved actions on the platform, retried when failures are transient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from agents.common import event, service_info
from agents.compliance import feedback_facts, policy_context
from agents.deps import AgentDeps
from agents.state import IncidentState, PlanStep
from policies import approvals, audit
from tools.actions import ActionResult, PlannedAction, PlatformError, TransientPlatformError

RETRY_ATTEMPTS = 4


def _retrying() -> Retrying:
    """Retry transient platform failures a few times with a short backoff."""
    return Retrying(retry=retry_if_exception_type(TransientPlatformError), stop=stop_after_attempt(RETRY_ATTEMPTS),
                    wait=wait_exponential(multiplier=0.02, max=0.5), reraise=True)


def run_with_retry(call: Any, action: PlannedAction) -> ActionResult:
    """Call ``execute`` or ``undo`` of a platform with retries on TransientPlatformError."""
    for attempt in _retrying():
        with attempt:
            return call(action)
    raise AssertionError("unreachable")  # pragma: no cover


def planned(step: PlanStep) -> PlannedAction:
    """The PlannedAction a plan step carries."""
    return PlannedAction(**{k: v for k, v in step.action.items() if k != "params_hash"})


def _refusal(step: PlanStep, action: PlannedAction, deps: AgentDeps, now: datetime,
             state: IncidentState) -> str | None:
    """Why an approved step may not run now: the policy and the approval are re-checked at execution time."""
    if action.params_hash != step.action.get("params_hash"):
        return "parameters changed after planning"
    if action.name != "escalate":
        source, _platform = deps.sources.open(state["source_id"])
        info = service_info(source, state["service"])
        ctx = policy_context(deps, action, environment=info.environment, tier=info.tier,
                             confidence=float(state.get("diagnosis", {}).get("confidence", 0.0)), now=now,
                             max_replicas=info.max_replicas,
                             feedback=feedback_facts(state, deps, planned_before=[]))
        decision = deps.policy.decide(ctx, deps.catalogue)
        if decision.outcome == "deny":
            return f"policy now denies it (rule {decision.rule_id}): {decision.reason}"
    if step.outcome == "approval":
        ok, why = approvals.executable(deps.store, action, now=now, rolebook=deps.roles)
        if not ok:
            return why
    return None


def execute_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Execute every approved step; record results; persist the platform."""
    source, platform = deps.sources.open(state["source_id"])
    steps = [PlanStep(**s) for s in state["plan"]]
    lines = []
    for step in steps:
        if step.status != "approved":
            continue
        action = planned(step)
        stored = deps.store.action(action.action_id)
        if stored is not None and stored.status == "executed":
            # This node is running again after its process died past the execution: never run an action twice.
            step.status, step.result = "executed", dict(stored.result or {})
            lines.append(f"{action.name} already executed before the restart")
            continue
        refusal = _refusal(step, action, deps, deps.clock(), state)
        if refusal:
            step.status = "refused"
            deps.store.update_action(action.action_id, status="refused", result={"reason": refusal})
            audit.append(deps.store, actor=deps.actor, kind="action.refused", incident_id=state["incident_id"],
                         subject=action.name, payload={"action_id": action.action_id, "reason": refusal})
            lines.append(f"{action.name} refused: {refusal}")
            continue
        if action.name == "escalate":
            step.status, step.result = "executed", {"detail": "on-call engineer notified"}
        else:
            try:
                result = run_with_retry(platform.execute, action)
                step.status, step.result = ("executed" if result.ok else "failed"), result.model_dump(mode="json")
            except (PlatformError, TransientPlatformError) as exc:
                step.status, step.result = "failed", {"detail": f"{type(exc).__name__}: {exc}"}
            deps.sources.commit(state["source_id"])  # the platform's new state is saved before the action row says so
        deps.store.update_action(action.action_id, status=step.status, result=step.result, executed_at=source.now())
        audit.append(deps.store, actor=step.approved_by or deps.actor, kind="action.executed",
                     incident_id=state["incident_id"], subject=action.name,
                     payload={"action_id": action.action_id, "params_hash": action.params_hash,
                              "status": step.status, "detail": step.result.get("detail", "")})
        lines.append(f"{action.name} {step.status}: {step.result.get('detail', '')}".rstrip(": "))
    deps.store.update_incident(state["incident_id"], status="executing")
    return {"plan": [s.model_dump(mode="json") for s in steps],
            "timeline": [event("execute", "; ".join(lines) or "nothing to execute")]}


def undo_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Undo every executed step of the current attempt, then move to the next hypothesis."""
    _source, platform = deps.sources.open(state["source_id"])
    steps = [PlanStep(**s) for s in state["plan"]]
    lines = []
    for step in steps:
        if step.status != "executed" or step.action["name"] == "escalate":
            continue
        action = planned(step)
        try:
            result = run_with_retry(platform.undo, action)
            step.status, detail = "undone", result.detail
        except (PlatformError, TransientPlatformError) as exc:
            step.status, detail = "undo_failed", f"{type(exc).__name__}: {exc}"
        deps.store.update_action(action.action_id, status=step.status)
        audit.append(deps.store, actor=deps.actor, kind="action.undone", incident_id=state["incident_id"],
                     subject=action.name, payload={"action_id": action.action_id, "status": step.status,
                                                   "detail": detail})
        lines.append(f"{action.name} {step.status}")
    deps.sources.commit(state["source_id"])
    index = state.get("hypothesis_index", 0)
    hypotheses = state.get("diagnosis", {}).get("hypotheses", [])
    tried = hypotheses[index] if index < len(hypotheses) else {}
    undone = [s.action["name"] for s in steps if s.status in ("undone", "undo_failed")]
    # Only a fix that ran and did not help counts against its cause; a denial is no evidence either way.
    attempt = {"cause": tried.get("cause", ""), "layer": tried.get("layer", ""), "actions": undone,
               "outcome": "undone" if undone else "denied"}
    return {"plan": [s.model_dump(mode="json") for s in steps], "attempts": [attempt],
            "hypothesis_index": index + 1,
            "timeline": [event("undo", "; ".join(lines) or "nothing ran (denied): trying the next hypothesis")]}
