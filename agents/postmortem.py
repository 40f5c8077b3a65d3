"""Postmortem writer: one Markdown file per incident, every number citing its tool call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memory.store import Store


def render_postmortem(store: Store, incident_id: str, *, timeline: list[dict[str, Any]]) -> str:
    """The postmortem text of one incident from the store and the thread's timeline."""
    incident = store.incident(incident_id)
    if incident is None:
        raise KeyError(f"unknown incident {incident_id!r}")
    lines = [f"# Postmortem {incident.id}: {incident.title}", "",
             f"- Service: `{incident.service}`  ", f"- Severity: {incident.severity}  ",
             f"- Status: **{incident.status}** (outcome: {incident.outcome or 'n/a'})  ",
             f"- Opened (source time): {incident.opened_at.isoformat()}  ",
             f"- Resolved (source time): {incident.resolved_at.isoformat() if incident.resolved_at else 'not resolved'}  ",
             f"- Root cause: {incident.root_cause or 'unknown'} ({incident.layer or '?'} layer), "
             f"diagnosis confidence {incident.confidence if incident.confidence is not None else 'n/a'}", "",
             "## Summary", "", incident.summary or "(none)", "", "## Findings", ""]
    for finding in store.findings(incident_id):
        lines.append(f"- **{finding.kind}** ({finding.layer}, {finding.severity}): {finding.summary}")
    lines += ["", "## Diagnosis", "", "| rank | layer | component | cause | score | why | evidence |",
              "|---|---|---|---|---|---|---|"]
    for rank, hyp in enumerate(incident.diagnosis.get("hypotheses", []), start=1):
        lines.append(f"| {rank} | {hyp['layer']} | {hyp['component']} | {hyp['cause']} | {hyp['score']:.2f} | "
                     f"{hyp.get('explanation', '')} | {', '.join(hyp['evidence'])} |")
    if incident.diagnosis.get("memory_note"):
        lines += ["", f"Memory: {incident.diagnosis['memory_note']}"]
    lines += ["", "## Actions", "", "| action | params | risk | policy | rule | status |", "|---|---|---|---|---|---|"]
    for action in store.actions(incident_id):
        lines.append(f"| {action.name} | `{action.params}` | {action.risk} | {action.decision} | {action.rule_id} | "
                     f"{action.status} |")
    approvals = store.approvals(incident_id=incident_id)
    if approvals:
        lines += ["", "## Approvals", ""]
        for approval in approvals:
            lines.append(f"- `{approval.id}` for action `{approval.action_id}`: {approval.status}"
                         f"{' by ' + approval.decided_by if approval.decided_by else ''} (rule {approval.rule_id})")
    lines += ["", "## Timeline", ""]
    for entry in timeline:
        lines.append(f"- `{entry['at']}` **{entry['step']}**: {entry['text']}")
    lines += ["", "## Tool calls cited", ""]
    for call in store.tool_calls(incident_id):
        lines.append(f"- `{call.tool_call_id}` {call.tool} ({call.status})")
    lines += ["", f"Audit entries for this incident: {len(store.audit_entries(incident_id))}", ""]
    return "\n".join(lines)


def write_postmortem(store: Store, incident_id: str, directory: Path, *, timeline: list[dict[str, Any]]) -> Path:
    """Write ``<directory>/<incident_id>.md`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{incident_id}.md"
    path.write_text(render_postmortem(store, incident_id, timeline=timeline), encoding="utf-8")
    return path
