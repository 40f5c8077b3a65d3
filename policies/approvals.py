"""Approval requests: bound to one action id and parameter hash, expiring, role-checked, audited.

Statuses: ``pending`` → ``approved`` | ``rejected`` | ``expired`` | ``invalidated`` (the action's
parameters changed after the request). A decided request never changes again. Every request,
vote, decision and refusal appends an audit entry.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from memory.models import ActionRow, ApprovalRow
from memory.store import Store
from policies import audit
from policies.engine import Decision, as_utc
from policies.roles import RoleBook, has_role
from tools.actions import PlannedAction


class ApprovalError(RuntimeError):
    """An approval cannot be requested, decided or used; the message says why."""


def request(store: Store, *, incident_id: str, action: PlannedAction, decision: Decision, now: datetime,
            summary: str = "") -> ApprovalRow:
    """Open an approval for an already stored action; re-requesting the same pending one returns it unchanged."""
    if decision.outcome != "approval":
        raise ApprovalError(f"policy decided {decision.outcome!r} for {action.name} ({decision.rule_id}); "
                            "only an 'approval' decision opens a request")
    now = as_utc(now)
    with store.session() as session:
        stored = session.get(ActionRow, action.action_id)
        if stored is None:
            raise ApprovalError(f"action {action.action_id} is not stored; record the planned action first")
        if stored.incident_id != incident_id:
            raise ApprovalError(f"action {action.action_id} belongs to incident {stored.incident_id}, "
                                f"not {incident_id}")
        if stored.params_hash != action.params_hash:
            raise ApprovalError(f"action {action.action_id} is stored with other parameters "
                                f"(hash {stored.params_hash[:12]}, requested {action.params_hash[:12]})")
        existing = session.scalars(select(ApprovalRow).where(
            ApprovalRow.action_id == action.action_id, ApprovalRow.params_hash == action.params_hash,
            ApprovalRow.status.in_(("pending", "approved")))).first()
        # A graph node re-runs from its top on resume: asking again must not open a second request. An
        # approved one is returned too: a process can stop after the request became visible but before its
        # thread paused on it, and the human's answer must then still apply when the thread is run again.
        if existing is not None and (existing.status == "approved" or as_utc(existing.expires_at) > now):
            return existing
        row = ApprovalRow(
            id=f"apr-{uuid.uuid4().hex[:12]}", incident_id=incident_id, action_id=action.action_id,
            params_hash=action.params_hash, status="pending", required_role=decision.required_role,
            required_count=decision.required_count, approvers=[], rule_id=decision.rule_id, summary=summary,
            requested_at=now, expires_at=now + timedelta(minutes=decision.expires_after_min), reason="")
        session.add(row)
    _audit(store, row, actor="policy", kind="approval.requested", at=now,
           extra={"action": action.name, "service": action.service, "params": action.params,
                  "expires_at": row.expires_at.isoformat(), "policy_reason": decision.reason})
    return row


def decide(store: Store, approval_id: str, *, user: str, roles: set[str], approve: bool, now: datetime,
           reason: str = "") -> ApprovalRow:
    """Record one user's approval or rejection; ApprovalError says why a decision is refused.

    With ``required_count`` n, the request stays pending until n distinct users approved; one
    rejection by a user with the role rejects it.
    """
    now = as_utc(now)
    refusal: str | None = None
    kind = "approval.refused"
    with store.session() as session:
        row = session.get(ApprovalRow, approval_id, with_for_update=True)
        if row is None:
            raise ApprovalError(f"unknown approval {approval_id!r}")
        stored = session.get(ActionRow, row.action_id)
        if row.status != "pending":
            by = f" by {row.decided_by}" if row.decided_by else ""
            when = f" at {as_utc(row.decided_at).isoformat()}" if row.decided_at else ""
            refusal = f"approval {approval_id} is already {row.status}{by}{when}; it cannot be decided again"
        elif now >= as_utc(row.expires_at):
            row.status, kind = "expired", "approval.expired"
            refusal = f"approval {approval_id} expired at {as_utc(row.expires_at).isoformat()}; request a new one"
        elif stored is None or stored.params_hash != row.params_hash:
            row.status, kind = "invalidated", "approval.invalidated"
            refusal = (f"action {row.action_id} changed since approval {approval_id} was requested "
                       "(parameters no longer match); it must be requested again")
        elif not has_role(roles, row.required_role):
            refusal = (f"{user} may not decide approval {approval_id}: it needs role {row.required_role!r}, "
                       f"{user} has {sorted(roles) or 'no roles'}")
        elif not approve:
            row.status, row.decided_at, row.decided_by, row.reason = "rejected", now, user, reason
            kind = "approval.rejected"
        elif user in row.approvers:
            refusal = (f"{user} already approved {approval_id}; it needs {row.required_count} distinct approvers "
                       f"and has {len(row.approvers)}")
        else:
            row.approvers = [*row.approvers, user]
            kind = "approval.vote"
            if len(row.approvers) >= row.required_count:
                row.status, row.decided_at, row.decided_by, row.reason = "approved", now, ", ".join(row.approvers), reason
                kind = "approval.approved"
    _audit(store, row, actor=user, kind=kind, at=now,
           extra={"approve": approve, "reason": reason, "roles": sorted(roles), "refusal": refusal})
    if refusal:
        raise ApprovalError(refusal)
    return row


def executable(store: Store, action: PlannedAction, *, now: datetime,
               rolebook: RoleBook | None = None) -> tuple[bool, str]:
    """Re-check, just before executing, that an approval binds exactly this action and was valid when given.

    With a ``rolebook`` the approvers' roles are checked again, so a revoked approver no longer counts.
    """
    now = as_utc(now)
    with store.session() as session:
        stored = session.get(ActionRow, action.action_id)
        approvals = list(session.scalars(select(ApprovalRow).where(ApprovalRow.action_id == action.action_id)
                                         .order_by(ApprovalRow.requested_at)))
    if stored is None:
        return False, f"action {action.action_id} is not stored"
    if stored.params_hash != action.params_hash:
        return False, f"action {action.action_id} changed since it was planned (parameter hash differs)"
    bound = [a for a in approvals if a.params_hash == action.params_hash]
    approved = [a for a in bound if a.status == "approved"]
    if not approved:
        states = ", ".join(f"{a.id} {a.status} ({len(a.approvers)}/{a.required_count})" for a in bound)
        return False, f"no approval for {action.action_id}" + (f": {states}" if states else "")
    for row in reversed(approved):
        problem = _approval_problem(row, now, rolebook)
        if problem is None:
            return True, f"approved by {row.decided_by} ({row.id}, rule {row.rule_id})"
    return False, problem  # the newest approval's problem


def _approval_problem(row: ApprovalRow, now: datetime, rolebook: RoleBook | None) -> str | None:
    decided_at = as_utc(row.decided_at) if row.decided_at else None
    if decided_at is None or decided_at >= as_utc(row.expires_at):
        return f"approval {row.id} was decided after it expired"
    if decided_at > now:
        return f"approval {row.id} is dated in the future ({decided_at.isoformat()}); check the clocks"
    distinct = set(row.approvers)
    if rolebook is not None:
        distinct = {user for user in distinct if rolebook.can(user, row.required_role)}
    if len(distinct) < row.required_count:
        return (f"approval {row.id} has {len(distinct)} approver(s) who still hold role {row.required_role!r}, "
                f"needs {row.required_count}")
    return None


def expire_stale(store: Store, now: datetime) -> list[str]:
    """Mark every pending approval whose time is up as expired; return their ids."""
    now = as_utc(now)
    with store.session() as session:
        rows = [row for row in session.scalars(select(ApprovalRow).where(ApprovalRow.status == "pending"))
                if as_utc(row.expires_at) <= now]
        for row in rows:
            row.status = "expired"
    for row in rows:
        _audit(store, row, actor="system", kind="approval.expired", at=now, extra={})
    return [row.id for row in rows]


def _audit(store: Store, row: ApprovalRow, *, actor: str, kind: str, at: datetime, extra: dict[str, Any]) -> None:
    payload = {"approval_id": row.id, "action_id": row.action_id, "params_hash": row.params_hash,
               "status": row.status, "approvers": list(row.approvers), "required_role": row.required_role,
               "required_count": row.required_count, "rule_id": row.rule_id, **extra}
    audit.append(store, actor=actor, kind=kind, incident_id=row.incident_id, subject=row.id, payload=payload, at=at)
