"""Alertmanager webhook (payload version 4) in: validated alerts become stored signals that trigger a monitor pass.

Flow: Alertmanager POSTs a group of alerts to ``/api/alerts/alertmanager`` → :class:`AlertmanagerPayload`
validates it (pydantic; version "4" only, at most ``MAX_ALERTS`` alerts, bounded label/annotation sizes)
→ :func:`ingest` maps each alert to a monitored service (``labels.service``, else ``labels.job``), screens
its annotations as data (``agents.screening``: personal data redacted, text matching injection patterns
withheld — it is never an instruction and never reaches an LLM unscreened), records the alert as a tool
call (``alertmanager_alert``, so it can be cited like any finding) and stores a signal row
(``alert_signals`` table, same database as the store). A firing alert for a known service waits as
``pending``; the loop's next step runs a monitor pass of that service (:func:`pending` /
:func:`mark_checked`), and when that pass opens or joins an incident the alert is added to the incident
as a finding of kind ``alertmanager`` citing its tool call. The alert itself never decides anything:
the monitor's own checks do.

States of a signal: ``pending`` (waits for the next loop step) → ``checked`` (a monitor pass ran; ``ended``
says how: quiet, attached, awaiting_approval, resolved, escalated; ``incident_id`` when one exists);
``unmatched`` (no monitored service of that name: kept, reported in the response, never checked);
``resolved`` (Alertmanager said the alert resolved before the loop got to it). Alertmanager re-sends a
group every ``group_interval``: a firing alert with the same fingerprint and start that is still pending
is refreshed, not duplicated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agents.screening import screen
from memory.models import FindingRow, ToolCallRow, UTCDateTime
from memory.store import Store, create_tables
from policies import audit
from tools.results import tool_result

MAX_ALERTS = 500
MAX_BODY = 1024 * 1024  # bytes of one webhook request (Alertmanager groups can be large)
MAX_LABELS = 64
MAX_VALUE = 8000  # characters of one label or annotation value (annotations are cut to 4000 by screening)
SERVICE_LABELS = ("service", "job")
SUMMARY_ANNOTATIONS = ("summary", "description", "message")
STATES = ("pending", "checked", "unmatched", "resolved")


# -- the payload ---------------------------------------------------------------------------------------
def _bounded(values: dict[str, str], what: str) -> dict[str, str]:
    if len(values) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} {what}, got {len(values)}")
    for key, value in values.items():
        if not key or len(key) > 200:
            raise ValueError(f"{what} names must have 1-200 characters, got {key[:40]!r}")
        if len(value) > MAX_VALUE:
            raise ValueError(f"{what[:-1]} {key!r} is {len(value)} characters; the limit is {MAX_VALUE}")
    return values


class Alert(BaseModel):
    """One alert of the group."""

    model_config = ConfigDict(extra="ignore")  # Alertmanager may add fields; those we read are strict
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = Field(default="", max_length=2000)  # noqa: N815
    fingerprint: str = Field(default="", max_length=64)

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        return _bounded(value, "labels")

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, value: dict[str, str]) -> dict[str, str]:
        return _bounded(value, "annotations")


class AlertmanagerPayload(BaseModel):
    """The webhook body of Alertmanager (``version: "4"``)."""

    model_config = ConfigDict(extra="ignore")
    version: Literal["4"] = Field(description='Only webhook payload version "4" is understood.')
    groupKey: str = Field(max_length=2000)  # noqa: N815
    truncatedAlerts: int = Field(default=0, ge=0)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=200)
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str = Field(default="", max_length=2000)  # noqa: N815
    alerts: list[Alert] = Field(min_length=1, max_length=MAX_ALERTS)


# -- storage ---------------------------------------------------------------------------------------------
class _Base(DeclarativeBase):
    pass


class AlertSignalRow(_Base):
    """One alert received from Alertmanager, screened, mapped to a service, and what the loop did with it."""

    __tablename__ = "alert_signals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True, default="")
    alertname: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved (as Alertmanager said)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | checked | unmatched | resolved
    service: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    matched_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    severity: Mapped[str] = mapped_column(String(32), default="warning")
    summary: Mapped[str] = mapped_column(Text, default="")  # screened annotation text; data, never instructions
    injection: Mapped[list[str]] = mapped_column(JSON, default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tool_call_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ended: Mapped[str | None] = mapped_column(String(32), nullable=True)


_READY: set[int] = set()


def ensure_table(store: Store) -> None:
    """Create the ``alert_signals`` table once per engine; a concurrent creator is not an error."""
    if id(store.engine) in _READY:
        return
    create_tables(_Base.metadata, store.engine)
    _READY.add(id(store.engine))


def signal_dict(row: AlertSignalRow) -> dict[str, Any]:
    """A signal as JSON-ready data."""
    return {c.key: getattr(row, c.key) for c in AlertSignalRow.__table__.columns if c.key != "seq"}


# -- ingesting ---------------------------------------------------------------------------------------------
def _service_of(labels: dict[str, str], known: set[str]) -> tuple[str | None, str | None]:
    """The monitored service an alert is about: labels.service, else labels.job (first one that is known)."""
    for name in SERVICE_LABELS:
        if labels.get(name) in known:
            return labels[name], name
    return None, None


def _screened_summary(annotations: dict[str, str]) -> tuple[str, list[str]]:
    """The alert's human text, screened; text with injection patterns is withheld, not passed on."""
    parts, found = [], []
    for key in [*SUMMARY_ANNOTATIONS, *sorted(set(annotations) - set(SUMMARY_ANNOTATIONS))]:
        if key not in annotations:
            continue
        checked = screen(annotations[key], max_chars=1000)
        if checked.injection:
            found += checked.injection
            parts.append(f"{key}: [withheld: matched injection patterns {', '.join(checked.injection)}]")
        else:
            parts.append(f"{key}: {checked.text}")
    return "\n".join(parts)[:4000], sorted(set(found))


def ingest(store: Store, payload: AlertmanagerPayload, *, known: Iterable[str], now: datetime | None = None,
           actor: str = "alertmanager") -> dict[str, Any]:
    """Store the alerts of one webhook call as signals; say what happened to each."""
    ensure_table(store)
    now = now or datetime.now(UTC)
    known = set(known)
    out: list[dict[str, Any]] = []
    with store.session() as session:
        seq = (session.scalars(select(AlertSignalRow.seq).order_by(AlertSignalRow.seq.desc()).limit(1)).first() or 0)
        for alert in payload.alerts:
            labels = {**payload.commonLabels, **alert.labels}
            service, matched_by = _service_of(labels, known)
            summary, injection = _screened_summary({**payload.commonAnnotations, **alert.annotations})
            name = labels.get("alertname", "")[:200]
            if alert.status == "resolved":
                resolved = session.scalars(select(AlertSignalRow).where(
                    AlertSignalRow.fingerprint == alert.fingerprint, AlertSignalRow.state == "pending")).all() \
                    if alert.fingerprint else []
                for row in resolved:
                    row.state, row.checked_at, row.ended = "resolved", now, "alert_resolved"
            elif alert.fingerprint:
                again = session.scalars(select(AlertSignalRow).where(
                    AlertSignalRow.fingerprint == alert.fingerprint, AlertSignalRow.starts_at == alert.startsAt,
                    AlertSignalRow.state == "pending")).first()
                if again is not None:  # a re-sent group: refresh, do not queue twice
                    again.received_at = now
                    out.append({**signal_dict(again), "duplicate": True})
                    continue
            state = "resolved" if alert.status == "resolved" else ("pending" if service else "unmatched")
            result = tool_result("alertmanager_alert",
                                 inputs={"receiver": payload.receiver, "group_key": payload.groupKey[:200],
                                         "fingerprint": alert.fingerprint},
                                 figures={"alertname": name, "status": alert.status, "service": service,
                                          "severity": labels.get("severity", "warning"),
                                          "starts_at": alert.startsAt.isoformat(),
                                          "labels": {k: v[:200] for k, v in labels.items()}, "injection": injection})
            session.add(ToolCallRow(tool_call_id=result.tool_call_id, tool=result.tool, status=str(result.status.value),
                                    incident_id=None, inputs=result.inputs, figures=result.figures,
                                    message=summary[:2000], at=now))
            seq += 1
            row = AlertSignalRow(id=f"sig-{uuid.uuid4().hex[:12]}", seq=seq, fingerprint=alert.fingerprint,
                                 alertname=name, status=alert.status, state=state, service=service,
                                 matched_by=matched_by, severity=labels.get("severity", "warning")[:32],
                                 summary=summary, injection=injection, labels=labels,
                                 tool_call_id=result.tool_call_id, starts_at=alert.startsAt, received_at=now)
            session.add(row)
            session.flush()
            out.append({**signal_dict(row), "duplicate": False})
    unmatched = sorted({s["labels"].get("service") or s["labels"].get("job") or "?" for s in out
                        if s["state"] == "unmatched"})
    audit.append(store, actor=actor, kind="alert.received", subject=payload.groupKey[:200],
                 payload={"receiver": payload.receiver, "status": payload.status, "alerts": len(payload.alerts),
                          "truncated": payload.truncatedAlerts, "signals": [s["id"] for s in out],
                          "pending": sorted({s["service"] for s in out if s["state"] == "pending"}),
                          "unmatched": unmatched,
                          "injection": sorted({i for s in out for i in s["injection"]})})
    return {"accepted": len(out), "signals": out, "unmatched_services": unmatched,
            "note": "firing alerts of monitored services trigger a monitor pass at the loop's next step"}


# -- the loop's side ---------------------------------------------------------------------------------------
def pending(store: Store) -> list[AlertSignalRow]:
    """Signals waiting for a monitor pass, oldest first."""
    ensure_table(store)
    return store.rows(select(AlertSignalRow).where(AlertSignalRow.state == "pending").order_by(AlertSignalRow.seq))


def signals(store: Store, *, state: str | None = None, service: str | None = None, limit: int = 100) -> list[AlertSignalRow]:
    """Signals, newest first."""
    ensure_table(store)
    query = select(AlertSignalRow).order_by(AlertSignalRow.seq.desc()).limit(limit)
    if state:
        query = query.where(AlertSignalRow.state == state)
    if service:
        query = query.where(AlertSignalRow.service == service)
    return store.rows(query)


def mark_checked(store: Store, signal_ids: list[str], *, ended: str, incident_id: str | None,
                 now: datetime | None = None) -> None:
    """Record the monitor pass the signals triggered; an incident it opened or joined gets them as findings."""
    now = now or datetime.now(UTC)
    with store.session() as session:
        rows = [r for r in (session.get(AlertSignalRow, i) for i in signal_ids) if r is not None and r.state == "pending"]
        for row in rows:
            row.state, row.checked_at, row.ended, row.incident_id = "checked", now, ended, incident_id
            if incident_id is not None:
                session.add(FindingRow(id=f"fnd-{uuid.uuid4().hex[:12]}", incident_id=incident_id,
                                       service=row.service or "", kind="alertmanager", layer="application",
                                       severity="critical" if row.severity == "critical" else "warning",
                                       summary=f"Alertmanager alert {row.alertname} ({row.severity}) firing since "
                                               f"{row.starts_at:%Y-%m-%d %H:%M} UTC [{row.tool_call_id}]",
                                       tool_call_id=row.tool_call_id, figures={"signal_id": row.id,
                                                                               "labels": row.labels},
                                       observed_at=now))
                tool_call = session.get(ToolCallRow, row.tool_call_id)
                if tool_call is not None:
                    tool_call.incident_id = incident_id
    if rows:
        audit.append(store, actor="opsgraph", kind="alert.checked", incident_id=incident_id,
                     subject=",".join(r.id for r in rows)[:200],
                     payload={"signals": [r.id for r in rows], "service": rows[0].service, "ended": ended})
