"""Per-incident facts for people: the demo summary row and its judgement against ground truth."""

from __future__ import annotations

from pydantic import BaseModel

from memory.store import Store
from opsgraph.scenario_run import ScenarioOutcome, minutes_between


class IncidentReport(BaseModel):
    """What happened to one incident of a scenario run."""

    scenario: str
    fault: str
    incident_id: str | None
    status: str
    detected_after_min: float | None = None
    root_cause: str | None = None
    root_cause_correct: bool | None = None
    layer: str | None = None
    actions: list[str] = []
    action_correct: bool | None = None
    approved_by: list[str] = []
    verified: bool | None = None
    time_to_recover_min: float | None = None
    pending_approvals: list[str] = []


def scenario_reports(store: Store, outcome: ScenarioOutcome) -> list[IncidentReport]:
    """One report per incident the scenario raised; one 'quiet' row when it raised none."""
    scenario = outcome.scenario
    truth = scenario.ground_truth
    fault = ", ".join(sorted({f.type for f in scenario.faults})) or "none (control)"
    if not outcome.incident_ids:
        return [IncidentReport(scenario=scenario.name, fault=fault, incident_id=None,
                               status="quiet" if not truth.incident_expected else "missed")]
    reports = []
    for incident_id in outcome.incident_ids:
        incident = store.incident(incident_id)
        if incident is None:
            continue
        actions = store.actions(incident_id)
        executed = [a.name for a in actions if a.status in ("executed", "undone")]
        approvals = store.approvals(incident_id=incident_id)
        approved_by = [a.decided_by or "?" for a in approvals if a.status == "approved"]
        approved_by += [f"policy ({a.rule_id})" for a in actions if a.decision == "auto" and a.status == "executed"]
        reports.append(IncidentReport(
            scenario=scenario.name, fault=fault, incident_id=incident_id, status=incident.status,
            detected_after_min=minutes_between(incident.first_signal_at, outcome.fault_start),
            root_cause=incident.root_cause, layer=incident.layer,
            root_cause_correct=(incident.root_cause == truth.root_cause_component) if truth.incident_expected else False,
            actions=list(dict.fromkeys(executed or [a.name for a in actions])),
            action_correct=bool(truth.remediation) and any(a in truth.remediation for a in executed or
                                                           [a.name for a in actions]),
            approved_by=approved_by, verified=True if incident.status == "resolved" else (
                None if incident.status == "awaiting_approval" else False),
            time_to_recover_min=minutes_between(incident.resolved_at, outcome.fault_start),
            pending_approvals=[a.id for a in approvals if a.status == "pending"]))
    return reports
