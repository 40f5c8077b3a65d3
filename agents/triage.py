"""Triage agent: opens an incident for new findings, or attaches them to the service's open incident."""

from __future__ import annotations

from typing import Any

from agents.common import event, parse_time, save_tool_calls
from agents.deps import AgentDeps
from agents.state import Finding, IncidentState
from memory.models import FindingRow, IncidentRow
from policies import audit

SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


def _finding_rows(incident_id: str, findings: list[Finding]) -> list[FindingRow]:
    """ORM rows for findings."""
    return [FindingRow(id=f.id, incident_id=incident_id, service=f.service, kind=f.kind, layer=f.layer,
                       severity=f.severity, summary=f.summary, tool_call_id=f.tool_call_id, figures=f.figures,
                       observed_at=parse_time(f.observed_at)) for f in findings]


def triage_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Dedupe against open incidents of the same service; otherwise open a new one."""
    findings = [Finding(**f) for f in state["findings"]]
    store = deps.store
    existing = store.open_incident_for(state["service"], state["source_id"])
    if existing is not None and existing.id != state["incident_id"]:
        known = {f.kind for f in store.findings(existing.id)}
        fresh = [f for f in findings if f.kind not in known]
        if fresh:
            store.add(*_finding_rows(existing.id, fresh))
            save_tool_calls(store, existing.id, [r for r in state.get("tool_results", [])
                                                 if r["tool_call_id"] in {f.tool_call_id for f in fresh}])
            for f in fresh:
                audit.append(store, actor=deps.actor, kind="finding.attached", incident_id=existing.id,
                             subject=f.kind, payload={"finding_id": f.id, "tool_call_id": f.tool_call_id})
        return {"triage": "attached", "status": "attached",
                "timeline": [event("triage", f"attached to open incident {existing.id}", incident=existing.id)]}

    severity = max((f.severity for f in findings), key=SEVERITY_ORDER.__getitem__)
    kinds = ", ".join(sorted({f.kind for f in findings}))
    observed = parse_time(state["observed_at"])
    incident_id = state["incident_id"]
    store.add(IncidentRow(id=incident_id, service=state["service"], source_id=state["source_id"], status="open",
                          severity=severity, title=f"{state['service']}: {kinds}", opened_at=observed,
                          first_signal_at=observed))
    store.add(*_finding_rows(incident_id, findings))
    save_tool_calls(store, incident_id, state.get("tool_results", []))
    audit.append(store, actor=deps.actor, kind="incident.opened", incident_id=incident_id, subject=state["service"],
                 payload={"severity": severity, "findings": [f.id for f in findings]})
    for f in findings:
        audit.append(store, actor=deps.actor, kind="finding", incident_id=incident_id, subject=f.kind,
                     payload={"finding_id": f.id, "summary": f.summary, "tool_call_id": f.tool_call_id})
    return {"triage": "new", "status": "open",
            "timeline": [event("triage", f"opened incident {incident_id} ({severity}): {kinds}")]}
