"""The relational store: one SQLAlchemy engine over SQLite (default) or PostgreSQL, and its queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from memory.models import (
    ActionRow,
    ApprovalRow,
    AuditRow,
    Base,
    FindingRow,
    IncidentRow,
    ServiceRow,
    ToolCallRow,
)

OPEN_STATUSES = ("open", "awaiting_approval", "executing")
# Escalated incidents wait for a human: new signals of the service join them instead of opening more.
ACTIVE_STATUSES = (*OPEN_STATUSES, "escalated")


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL and a busy timeout so the loop, the CLI and the server can share one SQLite file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_tables(metadata: MetaData, engine: Engine, *, attempts: int = 5) -> None:
    """Create missing tables; another process creating them at the same moment is not an error."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except OperationalError as exc:
            if "already exists" not in str(exc) or attempt == attempts - 1:
                raise


class Store:
    """Sessions and queries over the OpsGraph tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        create_tables(Base.metadata, self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except Exception:
                session.rollback()
                raise

    def rows(self, query: Any) -> list[Any]:
        """Every row a select returns, read in one session."""
        with self.session() as session:
            return list(session.scalars(query))

    def _of_incident(self, row_type: Any, incident_id: str, *order: Any) -> list[Any]:
        return self.rows(select(row_type).where(row_type.incident_id == incident_id).order_by(*order))
    def add(self, *rows: Any) -> None:
        """Insert or merge rows in one transaction."""
        with self.session() as session:
            for row in rows:
                session.merge(row)

    def _update(self, row_type: type[Base], what: str, key: str, fields: dict[str, Any]) -> None:
        """Change some columns of the row ``key`` of a table; KeyError "unknown <what>" where there is none."""
        with self.session() as session:
            row = session.get(row_type, key)
            if row is None:
                raise KeyError(f"unknown {what} {key!r}")
            for name, value in fields.items():
                setattr(row, name, value)

    # -- services ---------------------------------------------------------------------
    def upsert_service(self, name: str, *, kind: str, environment: str, tier: int,
                       source_id: str | None, info: dict[str, Any], at: datetime) -> None:
        """Record the latest facts about a service."""
        self.add(ServiceRow(name=name, kind=kind, environment=environment, tier=tier,
                            source_id=source_id, info=info, updated_at=at))

    def services(self) -> list[ServiceRow]:
        """Every known service."""
        return self.rows(select(ServiceRow).order_by(ServiceRow.name))

    # -- incidents --------------------------------------------------------------------
    def incident(self, incident_id: str) -> IncidentRow | None:
        """One incident by id."""
        with self.session() as session:
            return session.get(IncidentRow, incident_id)

    def incidents(self, *, status: str | None = None, service: str | None = None) -> list[IncidentRow]:
        """Incidents, newest first, optionally filtered."""
        query = select(IncidentRow).order_by(IncidentRow.opened_at.desc(), IncidentRow.id)
        if status == "open":
            query = query.where(IncidentRow.status.in_(OPEN_STATUSES))
        elif status:
            query = query.where(IncidentRow.status == status)
        if service:
            query = query.where(IncidentRow.service == service)
        return self.rows(query)

    def open_incident_for(self, service: str, source_id: str | None) -> IncidentRow | None:
        """The active (open or escalated) incident of a service in one metric source, if any."""
        query = select(IncidentRow).where(IncidentRow.service == service,
                                          IncidentRow.status.in_(ACTIVE_STATUSES))
        if source_id is not None:
            query = query.where(IncidentRow.source_id == source_id)
        with self.session() as session:
            return session.scalars(query.order_by(IncidentRow.opened_at.desc())).first()

    def update_incident(self, incident_id: str, **fields: Any) -> None:
        """Change some columns of an incident."""
        self._update(IncidentRow, "incident", incident_id, fields)

    # -- findings, tool calls, actions ---------------------------------------------------
    def findings(self, incident_id: str) -> list[FindingRow]:
        """Findings of an incident in the order observed."""
        return self._of_incident(FindingRow, incident_id, FindingRow.observed_at, FindingRow.id)

    def tool_call(self, tool_call_id: str) -> ToolCallRow | None:
        """One stored tool call."""
        with self.session() as session:
            return session.get(ToolCallRow, tool_call_id)

    def tool_calls(self, incident_id: str) -> list[ToolCallRow]:
        """Tool calls cited by an incident."""
        return self._of_incident(ToolCallRow, incident_id, ToolCallRow.at)

    def action(self, action_id: str) -> ActionRow | None:
        """One action by id."""
        with self.session() as session:
            return session.get(ActionRow, action_id)

    def actions(self, incident_id: str) -> list[ActionRow]:
        """Actions of an incident in the order planned."""
        return self._of_incident(ActionRow, incident_id, ActionRow.planned_at, ActionRow.id)

    def update_action(self, action_id: str, **fields: Any) -> None:
        """Change some columns of an action."""
        self._update(ActionRow, "action", action_id, fields)

    # -- approvals ----------------------------------------------------------------------
    def approval(self, approval_id: str) -> ApprovalRow | None:
        """One approval request by id."""
        with self.session() as session:
            return session.get(ApprovalRow, approval_id)

    def approvals(self, *, status: str | None = None, incident_id: str | None = None) -> list[ApprovalRow]:
        """Approval requests, oldest first."""
        query = select(ApprovalRow).order_by(ApprovalRow.requested_at, ApprovalRow.id)
        if status:
            query = query.where(ApprovalRow.status == status)
        if incident_id:
            query = query.where(ApprovalRow.incident_id == incident_id)
        return self.rows(query)

    # -- audit --------------------------------------------------------------------------
    def audit_entries(self, incident_id: str | None = None) -> list[AuditRow]:
        """Audit entries in chain order."""
        query = select(AuditRow).order_by(AuditRow.seq)
        if incident_id:
            query = query.where(AuditRow.incident_id == incident_id)
        return self.rows(query)
