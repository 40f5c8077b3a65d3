"""Rich renderables: the demo summary, the incident list, one incident in full."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from memory.store import Store
from opsgraph.report import IncidentReport

STEP_STYLE = {"detect": "bold red", "triage": "yellow", "diagnose": "cyan", "plan": "blue", "policy": "magenta",
              "approval": "bold magenta", "execute": "green", "verify": "bold green", "undo": "bold yellow",
              "record": "white", "remediate": "blue"}


def _mark(flag: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[flag]


def _num(value: float | None, unit: str = " min") -> str:
    return "-" if value is None else f"{value:.0f}{unit}"


def step_line(service: str, step: str, text: str) -> Text:
    """One live line of the incident flow."""
    line = Text()
    line.append(f"  {service:<14} ", style="dim")
    line.append(f"{step:<9}", style=STEP_STYLE.get(step, ""))
    line.append(" " + text)
    return line


def summary_table(reports: list[IncidentReport]) -> Table:
    """The demo's closing table: per incident, fault to recovery."""
    table = Table(title="OpsGraph demo summary", show_lines=False)
    for column in ("scenario", "fault", "incident", "detected after", "root cause found", "action",
                   "approved by", "verified", "time to recover"):
        table.add_column(column, overflow="fold")
    for r in reports:
        if r.incident_id is None:
            table.add_row(r.scenario, r.fault, "-", "-", "quiet (no incident)" if r.status == "quiet" else "MISSED",
                          "-", "-", "-", "-")
            continue
        cause = f"{r.root_cause or '?'} ({r.layer or '?'}) {'✓' if r.root_cause_correct else '✗ wrong'}"
        approved = ", ".join(dict.fromkeys(r.approved_by)) or ("pending: " + ", ".join(r.pending_approvals)
                                                if r.pending_approvals else "-")
        verified = "pending approval" if r.verified is None else _mark(r.verified)
        table.add_row(r.scenario, r.fault, r.incident_id, _num(r.detected_after_min), Text(cause),
                      ", ".join(r.actions) or "-", approved, verified, _num(r.time_to_recover_min))
    return table


def incidents_table(store: Store, *, status: str | None = None) -> Table:
    """All incidents, newest first."""
    table = Table(title="Incidents")
    for column in ("id", "service", "status", "severity", "opened (source time)", "root cause", "layer", "summary"):
        table.add_column(column, overflow="fold")
    for inc in store.incidents(status=status):
        table.add_row(inc.id, inc.service, inc.status, inc.severity, inc.opened_at.strftime("%Y-%m-%d %H:%M"),
                      inc.root_cause or "-", inc.layer or "-", Text(inc.summary or inc.title))
    return table


def approvals_table(store: Store, *, status: str | None = "pending") -> Table:
    """Approval requests."""
    table = Table(title="Approvals" + (f" ({status})" if status else ""))
    for column in ("id", "incident", "action", "status", "rule", "expires", "summary"):
        table.add_column(column, overflow="fold")
    for row in store.approvals(status=status):
        action = store.action(row.action_id)
        label = f"{action.name} {action.params}" if action else row.action_id
        table.add_row(row.id, row.incident_id, label, row.status, row.rule_id,
                      row.expires_at.strftime("%Y-%m-%d %H:%M UTC"), Text(row.summary))
    return table


def incident_detail(store: Store, incident_id: str) -> Group:
    """Everything about one incident; every number cites its tool call id."""
    inc = store.incident(incident_id)
    if inc is None:
        raise KeyError(f"unknown incident {incident_id!r}")
    parts: list = [Text(f"{inc.id}  {inc.title}", style="bold"),
                   Text(f"status {inc.status} · severity {inc.severity} · service {inc.service} · "
                        f"opened {inc.opened_at:%Y-%m-%d %H:%M} · "
                        f"resolved {inc.resolved_at.strftime('%Y-%m-%d %H:%M') if inc.resolved_at else '-'}"),
                   Text(f"root cause: {inc.root_cause or '?'} ({inc.layer or '?'} layer), "
                        f"confidence {inc.confidence}"), Text(inc.summary or "")]
    findings = Table(title="Findings")
    for column in ("kind", "layer", "severity", "summary (numbers cite \\[tool call id])"):
        findings.add_column(column, overflow="fold")
    for f in store.findings(incident_id):
        findings.add_row(f.kind, f.layer, f.severity, Text(f.summary))
    parts.append(findings)
    hyps = Table(title="Diagnosis")
    for column in ("rank", "layer", "component", "cause", "score", "evidence"):
        hyps.add_column(column, overflow="fold")
    for rank, h in enumerate(inc.diagnosis.get("hypotheses", []), start=1):
        hyps.add_row(str(rank), h["layer"], h["component"], h["cause"], f"{h['score']:.2f}", ", ".join(h["evidence"]))
    parts.append(hyps)
    actions = Table(title="Actions")
    for column in ("id", "action", "params", "risk", "policy", "rule", "status", "result"):
        actions.add_column(column, overflow="fold")
    for a in store.actions(incident_id):
        actions.add_row(a.id, a.name, Text(str(a.params)), a.risk, a.decision, a.rule_id, a.status,
                        Text(str(a.result.get("detail", a.result.get("reason", "")))))
    parts.append(actions)
    audit = Table(title="Audit trail")
    for column in ("seq", "at (UTC)", "actor", "kind", "subject"):
        audit.add_column(column, overflow="fold")
    for e in store.audit_entries(incident_id):
        audit.add_row(str(e.seq), e.at.strftime("%H:%M:%S"), e.actor, e.kind, e.subject)
    parts.append(audit)
    if inc.postmortem_path:
        parts.append(Text(f"postmortem: {inc.postmortem_path}"))
    return Group(*parts)
