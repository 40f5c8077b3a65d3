"""Approval requests bound to an action id and parameter hash, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory.models import ActionRow, IncidentRow
from memory.store import Store, sqlite_url
from policies import approvals, audit
from policies.approvals import ApprovalError
from policies.engine import Decision
from policies.roles import RoleBook
from tools.actions import PlannedAction

NOW = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)
APPROVER = {"approver"}


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(sqlite_url(tmp_path / "ops.db"))
    store.add(IncidentRow(id="inc-1", service="fraud", opened_at=NOW))
    return store


def plan(store: Store, name: str = "rollback_model", params: dict | None = None) -> PlannedAction:
    """What the graph does before asking: store the planned action."""
    action = PlannedAction(name=name, service="fraud", params=params or {"to_version": "v3"})
    store.add(ActionRow(id=action.action_id, incident_id="inc-1", name=action.name, service=action.service,
                        params=action.params, params_hash=action.params_hash, risk="high", planned_at=NOW))
    return action


def decision(**fields) -> Decision:
    base = {"outcome": "approval", "rule_id": "production.model_change_needs_approval", "reason": "model change",
            "risk": "high"}
    return Decision(**{**base, **fields})


def ask(store: Store, action: PlannedAction, **fields):
    return approvals.request(store, incident_id="inc-1", action=action, decision=decision(**fields), now=NOW,
                             summary="roll fraud back to v3")


def test_request_binds_action_and_params_and_expires(store):
    action = plan(store)
    row = ask(store, action, expires_after_min=45)
    assert (row.action_id, row.params_hash, row.status) == (action.action_id, action.params_hash, "pending")
    assert row.expires_at == NOW + timedelta(minutes=45)
    assert store.approval(row.id).status == "pending"


def test_request_again_returns_the_same_pending_request(store):
    action = plan(store)
    assert ask(store, action).id == ask(store, action).id
    assert len(store.approvals()) == 1


def test_request_again_after_approval_returns_the_approved_request_but_not_a_rejected_one(store):
    action = plan(store)
    row = ask(store, action)
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    again = ask(store, action)  # the node re-ran after its process died: the human's answer still holds
    assert (again.id, again.status) == (row.id, "approved") and len(store.approvals()) == 1
    other = plan(store, params={"to_version": "v2"})
    refused = ask(store, other)
    approvals.decide(store, refused.id, user="alice", roles=APPROVER, approve=False, now=NOW)
    assert ask(store, other).id != refused.id  # a rejection is not reused: asking again opens a new request


def test_request_needs_the_action_stored_first(store):
    action = PlannedAction(name="rollback_model", service="fraud")
    with pytest.raises(ApprovalError, match="is not stored"):
        ask(store, action)


def test_request_refuses_a_non_approval_decision(store):
    with pytest.raises(ApprovalError, match="only an 'approval' decision"):
        ask(store, plan(store), outcome="auto")


def test_approver_approves(store):
    row = ask(store, plan(store))
    decided = approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW, reason="ok")
    assert (decided.status, decided.decided_by, decided.approvers) == ("approved", "alice", ["alice"])


def test_admin_implies_approver(store):
    row = ask(store, plan(store))
    assert approvals.decide(store, row.id, user="root", roles={"admin"}, approve=True, now=NOW).status == "approved"


def test_rejection_closes_the_request(store):
    action = plan(store)
    row = ask(store, action)
    assert approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=False, now=NOW).status == "rejected"
    assert approvals.executable(store, action, now=NOW) == (False, f"no approval for {action.action_id}: "
                                                                    f"{row.id} rejected (0/1)")


def test_unknown_approval_is_refused(store):
    with pytest.raises(ApprovalError, match="unknown approval 'apr-nope'"):
        approvals.decide(store, "apr-nope", user="alice", roles=APPROVER, approve=True, now=NOW)


def test_approving_twice_is_refused(store):
    row = ask(store, plan(store))
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    with pytest.raises(ApprovalError, match="already approved by alice"):
        approvals.decide(store, row.id, user="bob", roles=APPROVER, approve=True, now=NOW)


def test_expired_request_is_refused_and_marked_expired(store):
    row = ask(store, plan(store), expires_after_min=10)
    with pytest.raises(ApprovalError, match="expired at 2025-06-04T10:10:00"):
        approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW + timedelta(minutes=10))
    assert store.approval(row.id).status == "expired"


def test_changed_action_is_refused(store):
    action = plan(store)
    row = ask(store, action)
    changed = action.model_copy(update={"params": {"to_version": "v1"}})
    store.update_action(action.action_id, params=changed.params, params_hash=changed.params_hash)
    with pytest.raises(ApprovalError, match="changed since approval"):
        approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    assert store.approval(row.id).status == "invalidated"


def test_user_without_the_role_is_refused(store):
    row = ask(store, plan(store))
    with pytest.raises(ApprovalError, match="needs role 'approver', eve has \\['operator'\\]"):
        approvals.decide(store, row.id, user="eve", roles={"operator"}, approve=True, now=NOW)
    assert store.approval(row.id).status == "pending"


def test_operator_cannot_reject_either(store):
    row = ask(store, plan(store))
    with pytest.raises(ApprovalError, match="needs role"):
        approvals.decide(store, row.id, user="eve", roles={"viewer"}, approve=False, now=NOW)


def test_two_person_rule_counts_distinct_approvers(store):
    action = plan(store, "delete_training_data", {"dataset": "clicks"})
    row = ask(store, action, risk="critical", required_count=2, required_role="admin")
    assert approvals.decide(store, row.id, user="ann", roles={"admin"}, approve=True, now=NOW).status == "pending"
    with pytest.raises(ApprovalError, match="ann already approved .* needs 2 distinct approvers and has 1"):
        approvals.decide(store, row.id, user="ann", roles={"admin"}, approve=True, now=NOW)
    assert store.approval(row.id).status == "pending"
    assert approvals.executable(store, action, now=NOW)[0] is False
    done = approvals.decide(store, row.id, user="ben", roles={"admin"}, approve=True, now=NOW)
    assert (done.status, done.approvers, done.decided_by) == ("approved", ["ann", "ben"], "ann, ben")
    assert approvals.executable(store, action, now=NOW)[0] is True


def test_executable_after_approval(store):
    action = plan(store)
    row = ask(store, action)
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    ok, why = approvals.executable(store, action, now=NOW + timedelta(hours=3))
    assert ok and "alice" in why and row.id in why


def test_not_executable_without_approval(store):
    action = plan(store)
    assert approvals.executable(store, action, now=NOW) == (False, f"no approval for {action.action_id}")
    ask(store, action)
    ok, why = approvals.executable(store, action, now=NOW)
    assert not ok and "pending (0/1)" in why


def test_not_executable_when_params_changed_after_approval(store):
    action = plan(store)
    row = ask(store, action)
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    changed = action.model_copy(update={"params": {"to_version": "v1"}})
    assert approvals.executable(store, changed, now=NOW)[0] is False
    store.update_action(action.action_id, params=changed.params, params_hash=changed.params_hash)
    ok, why = approvals.executable(store, changed, now=NOW)
    assert not ok and "no approval" in why
    assert approvals.executable(store, action, now=NOW) == (
        False, f"action {action.action_id} changed since it was planned (parameter hash differs)")


def test_not_executable_when_the_approver_lost_the_role(store):
    action = plan(store)
    row = ask(store, action)
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    book = RoleBook(users={"alice": ["operator"]})
    ok, why = approvals.executable(store, action, now=NOW, rolebook=book)
    assert not ok and "0 approver(s) who still hold role 'approver'" in why
    assert approvals.executable(store, action, now=NOW, rolebook=RoleBook(users={"alice": ["admin"]}))[0]


def test_not_executable_when_approved_after_expiry_by_a_tampered_row(store):
    action = plan(store)
    row = ask(store, action, expires_after_min=5)
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    with store.session() as session:
        session.get(type(row), row.id).decided_at = NOW + timedelta(minutes=6)
    ok, why = approvals.executable(store, action, now=NOW + timedelta(minutes=7))
    assert not ok and "after it expired" in why


def test_expire_stale_marks_only_overdue_pending_requests(store):
    old = ask(store, plan(store), expires_after_min=5)
    fresh = ask(store, plan(store), expires_after_min=120)
    done = ask(store, plan(store), expires_after_min=5)
    approvals.decide(store, done.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    assert approvals.expire_stale(store, NOW + timedelta(minutes=30)) == [old.id]
    assert [store.approval(i).status for i in (old.id, fresh.id, done.id)] == ["expired", "pending", "approved"]
    assert approvals.expire_stale(store, NOW + timedelta(minutes=30)) == []


def test_every_request_and_decision_is_audited(store):
    row = ask(store, plan(store))
    with pytest.raises(ApprovalError):
        approvals.decide(store, row.id, user="eve", roles={"viewer"}, approve=True, now=NOW)
    approvals.decide(store, row.id, user="alice", roles=APPROVER, approve=True, now=NOW)
    entries = store.audit_entries("inc-1")
    assert [(e.kind, e.actor) for e in entries] == [
        ("approval.requested", "policy"), ("approval.refused", "eve"), ("approval.approved", "alice")]
    assert all(e.subject == row.id for e in entries)
    assert "needs role" in entries[1].payload["refusal"]
    assert audit.verify(store).ok
