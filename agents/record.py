"""Record agent: closes the incident in SQL and vector memory, audits it and writes the postmortem."""

from __future__ import annotations

from typing import Any

from agents.common import event, parse_time, service_info
from agents.deps import AgentDeps
from agents.diagnose import symptom_text
from agents.postmortem import write_postmortem
from agents.state import Finding, IncidentState, PlanStep
from policies import audit


def outcome_of(state: IncidentState) -> tuple[str, str]:
    """(incident status, memory outcome) from what the thread did."""
    steps = [PlanStep(**s) for s in state.get("plan", [])]
    if state.get("verification", {}).get("recovered") and any(s.status == "executed" for s in steps):
        return "resolved", "resolved"
    if any(s.status == "undone" for s in steps):
        return "escalated", "undone"
    if steps and all(s.status == "denied" for s in steps):
        return "escalated", "denied"
    return "escalated", "escalated"


def record_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Write the final status, remember the incident with its verified outcome, and audit the close."""
    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    status, outcome = outcome_of(state)
    now = source.now()
    incident_id = state["incident_id"]
    hypotheses = state.get("diagnosis", {}).get("hypotheses", [])
    # A fix names the cause it confirmed; without one, the best-ranked hypothesis stands.
    index = min(state.get("hypothesis_index", 0), max(len(hypotheses) - 1, 0)) if status == "resolved" else 0
    tried = hypotheses[index] if hypotheses else {}
    executed = [PlanStep(**s).action["name"] for s in state.get("plan", []) if PlanStep(**s).status in ("executed", "undone")]
    minutes = (now - parse_time(state["observed_at"])).total_seconds() / 60.0
    summary = (f"{info.name}: {tried.get('cause', 'unknown cause')} ({tried.get('layer', '?')} layer); "
               f"actions {', '.join(executed) or 'none'}; {status} after {minutes:.0f} min")
    deps.store.update_incident(incident_id, status=status, outcome=outcome, summary=summary,
                               resolved_at=now if status == "resolved" else None,
                               layer=tried.get("layer"), root_cause=tried.get("component"))
    if deps.memory is not None:
        from memory.vector import IncidentMemoryRecord

        findings = [Finding(**f) for f in state.get("findings", [])]
        deps.memory.remember(IncidentMemoryRecord(
            incident_id=incident_id, service=info.name, service_kind=info.kind, layer=tried.get("layer", ""),
            root_cause=tried.get("cause", ""), symptoms=symptom_text(info, findings),
            finding_kinds=sorted({f.kind for f in findings}), actions=executed,
            failed_causes=[a["cause"] for a in state.get("attempts", [])
                           if a.get("cause") and a.get("outcome") == "undone"],
            outcome=outcome if outcome in ("resolved", "made_worse", "undone", "escalated") else "escalated",
            summary=summary, closed_at=now))
    closing = event("record", f"{status}: {summary}")
    path = None
    if deps.postmortem_dir is not None:
        path = write_postmortem(deps.store, incident_id, deps.postmortem_dir,
                                timeline=[*state.get("timeline", []), closing])
        deps.store.update_incident(incident_id, postmortem_path=str(path))
    audit.append(deps.store, actor=deps.actor, kind="incident.closed", incident_id=incident_id, subject=status,
                 payload={"outcome": outcome, "summary": summary, "postmortem": str(path) if path else None})
    return {"status": status, "outcome": outcome, "timeline": [closing]}
