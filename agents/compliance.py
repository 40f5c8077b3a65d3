"""Compliance agent: the policy gate before any action, and the human approval it may require."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from langgraph.types import interrupt

from agents.common import event, service_info
from agents.deps import AgentDeps
from agents.state import IncidentState, PlanStep
from memory.models import ActionRow
from policies import approvals, audit
from policies.engine import PolicyContext
from tools.actions import PlannedAction

# Share of the service's traffic an action touches, for the policy's blast-radius rules.
# Quarantining feedback only withholds labels from training: no request is served differently.
BLAST_RADIUS = {"scale_up": 0.0, "scale_down": 0.2, "restart_pipeline": 0.1, "rollback_model": 1.0,
                "retrain_model": 1.0, "shift_traffic": 0.5, "escalate": 0.0, "quarantine_feedback": 0.0,
                "switch_feature_store": 1.0, "pin_prompt_version": 1.0}


def _recent_action_counts(deps: AgentDeps, service: str, name: str, now: datetime) -> tuple[int, int]:
    """Actions executed in the last hour on this service, and of this kind anywhere."""
    from sqlalchemy import func, select

    since = now - timedelta(hours=1)
    with deps.store.session() as session:
        base = select(func.count()).select_from(ActionRow).where(ActionRow.executed_at.is_not(None),
                                                                 ActionRow.executed_at >= since)
        per_service = session.scalar(base.where(ActionRow.service == service)) or 0
        per_action = session.scalar(base.where(ActionRow.name == name)) or 0
    return int(per_service), int(per_action)


def feedback_facts(state: IncidentState, deps: AgentDeps, *, planned_before: list[str]) -> tuple[bool, bool]:
    """(labels echo the model, the echoing feedback is quarantined or will be by an earlier step of the plan)."""
    kinds = {f.get("kind") for f in state.get("findings", [])}
    hypotheses = state.get("diagnosis", {}).get("hypotheses", [])
    contaminated = "feedback_echo" in kinds or any(
        h.get("component", "").endswith(".feedback") and h.get("score", 0.0) >= 0.5 for h in hypotheses)
    done = any(a.name == "quarantine_feedback" and a.status == "executed"
               for a in deps.store.actions(state["incident_id"]))
    return contaminated, done or "quarantine_feedback" in planned_before


def policy_context(deps: AgentDeps, action: PlannedAction, *, environment: str, tier: int, confidence: float,
                   now: datetime, max_replicas: int | None, feedback: tuple[bool, bool] = (False, False)) -> PolicyContext:
    """Everything the policy may condition on, for one action."""
    spec = deps.catalogue.get(action.name)
    per_service, per_action = _recent_action_counts(deps, action.service, action.name, now)
    replicas_after = action.params.get("replicas") if action.name in ("scale_up", "scale_down") else None
    return PolicyContext(action=action.name, service=action.service, params=action.params,
                         environment=environment, tier=tier, risk=spec.risk if spec else "critical",
                         reversible=spec.reversible if spec else False,
                         blast_radius=BLAST_RADIUS.get(action.name, 1.0), confidence=confidence, now=now,
                         actions_last_hour_service=per_service, actions_last_hour_action=per_action,
                         replicas_after=replicas_after, max_replicas=max_replicas,
                         feedback_contaminated=feedback[0], feedback_quarantined=feedback[1])


def compliance_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Decide auto | approval | deny per planned action; open approval requests where needed."""
    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    confidence = float(state["diagnosis"].get("confidence", 0.0))
    now = deps.clock()
    steps = [PlanStep(**s) for s in state["plan"]]
    lines = []
    for index, step in enumerate(steps):
        action = PlannedAction(**{k: v for k, v in step.action.items() if k != "params_hash"})
        earlier = [s.action["name"] for s in steps[:index] if s.status in ("approved", "pending_approval")]
        ctx = policy_context(deps, action, environment=info.environment, tier=info.tier, confidence=confidence,
                             now=now, max_replicas=info.max_replicas,
                             feedback=feedback_facts(state, deps, planned_before=earlier))
        decision = deps.policy.decide(ctx, deps.catalogue)
        step.risk, step.outcome, step.rule_id, step.reason = decision.risk, decision.outcome, decision.rule_id, decision.reason
        step.status = {"auto": "approved", "approval": "pending_approval", "deny": "denied"}[decision.outcome]
        if decision.outcome == "auto":
            step.approved_by = f"policy:{decision.rule_id}"
        deps.store.update_action(action.action_id, risk=decision.risk, decision=decision.outcome,
                                 rule_id=decision.rule_id, status=step.status)
        audit.append(deps.store, actor=deps.actor, kind="policy.decision", incident_id=state["incident_id"],
                     subject=action.name, payload={"action_id": action.action_id, "outcome": decision.outcome,
                                                   "rule_id": decision.rule_id, "reason": decision.reason})
        if decision.outcome == "approval":
            # Whoever answers may do so from another process: the state they act on must be saved before
            # the request becomes visible.
            deps.sources.commit(state["source_id"])
            summary = f"{action.name} on {action.service}: {action.rationale}"
            request = approvals.request(deps.store, incident_id=state["incident_id"], action=action,
                                        decision=decision, now=now, summary=summary)
            step.approval_id = request.id
            for channel in deps.channels:
                channel.post({"approval_id": request.id, "incident_id": state["incident_id"],
                              "action": action.model_dump(mode="json"), "risk": decision.risk,
                              "rule_id": decision.rule_id, "summary": summary,
                              "expires_at": request.expires_at.isoformat()})
        lines.append(f"{action.name}: {decision.outcome} (rule {decision.rule_id})")
    pending = any(s.status == "pending_approval" for s in steps)
    if pending:
        deps.store.update_incident(state["incident_id"], status="awaiting_approval")
    return {"plan": [s.model_dump(mode="json") for s in steps],
            "status": "awaiting_approval" if pending else "open",
            "timeline": [event("policy", "; ".join(lines))]}


def await_approval_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Pause the thread until a human decides; nothing with a side effect comes before interrupt()."""
    steps = [PlanStep(**s) for s in state["plan"]]
    pending = [s for s in steps if s.status == "pending_approval"]
    answer = interrupt({"incident_id": state["incident_id"],
                        "pending": [{"approval_id": s.approval_id, "action": s.action["name"],
                                     "params": s.action["params"], "rule_id": s.rule_id} for s in pending]})
    decided = []
    for step in steps:
        if step.status == "pending_approval" and step.approval_id == answer.get("approval_id"):
            step.status = "approved" if answer.get("approved") else "denied"
            step.approved_by = answer.get("by") if answer.get("approved") else None
            decided.append(f"{step.action['name']} {step.status} by {answer.get('by')}")
    still = any(s.status == "pending_approval" for s in steps)
    if not still:
        deps.store.update_incident(state["incident_id"], status="open")
    return {"plan": [s.model_dump(mode="json") for s in steps], "approval_decision": dict(answer),
            "status": "awaiting_approval" if still else "open",
            "timeline": [event("approval", "; ".join(decided) or "answer matched no pending approval")]}
