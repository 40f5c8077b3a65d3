"""The hash-chained audit log: verification catches edits, deletions and swaps; concurrent appends; export."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from memory.store import Store, sqlite_url
from policies import audit

T0 = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)
COLUMNS = ("at", "actor", "kind", "incident_id", "subject", "payload", "prev_hash", "hash")


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(sqlite_url(tmp_path / "audit.db"))
    for i in range(1, 6):
        audit.append(store, actor="graph", kind="action.executed", incident_id="inc-1", subject=f"act-{i}",
                     payload={"n": i, "who": "oncall@example.com"}, at=T0 + timedelta(minutes=i))
    return store


def sql(store: Store, statement: str, **params) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_clean_log_verifies(store):
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.entries, verdict.first_bad_seq) == (True, 5, None)


def test_empty_log_verifies(tmp_path):
    assert audit.verify(Store(sqlite_url(tmp_path / "empty.db"))).ok


def test_edited_row_is_named(store):
    sql(store, "UPDATE audit_entries SET payload = :p WHERE seq = 3", p=json.dumps({"n": 999}))
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
    assert "edited" in verdict.reason


def test_edit_with_recomputed_hash_breaks_the_next_link(store):
    row = store.audit_entries()[2]
    forged = audit.entry_hash(row.prev_hash, at=row.at, actor=row.actor, kind=row.kind, incident_id=row.incident_id,
                              subject=row.subject, payload={"n": 999})
    sql(store, "UPDATE audit_entries SET payload = :p, hash = :h WHERE seq = 3", p=json.dumps({"n": 999}), h=forged)
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)


def test_deleted_row_is_named_by_its_successor(store):
    sql(store, "DELETE FROM audit_entries WHERE seq = 3")
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.first_bad_seq, verdict.entries) == (False, 4, 4)
    assert "deleted or reordered" in verdict.reason


def test_deleted_last_row_is_not_detectable_from_the_chain_alone(store):
    # Truncating the tail leaves a valid, shorter chain; the entry count is what reveals it.
    sql(store, "DELETE FROM audit_entries WHERE seq = 5")
    assert audit.verify(store).entries == 4


def test_swapped_rows_are_named(store):
    rows = {row.seq: row for row in store.audit_entries()}
    a, b = rows[2], rows[4]
    values = lambda row: {c: (json.dumps(row.payload) if c == "payload" else getattr(row, c)) for c in COLUMNS}  # noqa: E731
    assignments = ", ".join(f"{c} = :{c}" for c in COLUMNS)
    # prev_hash and hash are unique: park row 2 on placeholder hashes while row 4 takes its content.
    sql(store, "UPDATE audit_entries SET prev_hash = 'x1', hash = 'x2' WHERE seq = 2")
    sql(store, f"UPDATE audit_entries SET {assignments} WHERE seq = 4", **values(a))
    sql(store, f"UPDATE audit_entries SET {assignments} WHERE seq = 2", **values(b))
    assert [row.subject for row in store.audit_entries()] == ["act-1", "act-4", "act-3", "act-2", "act-5"]
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 2)


def _append_many(url: str, worker: str, count: int) -> None:
    store = Store(url)
    for i in range(count):
        audit.append(store, actor=worker, kind="test.concurrent", subject=f"{worker}-{i}", payload={"i": i})


def test_concurrent_appends_from_two_processes_leave_a_valid_chain(tmp_path):
    url = sqlite_url(tmp_path / "shared.db")
    Store(url)  # create the tables before the writers race
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(url, f"w{n}", 30)) for n in range(2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=60)
    assert [process.exitcode for process in workers] == [0, 0]
    store = Store(url)
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.entries) == (True, 60), verdict.reason
    assert {row.actor for row in store.audit_entries()} == {"w0", "w1"}


def test_export_jsonl_redacts_payloads_and_keeps_the_chain_fields(store, tmp_path):
    audit.append(store, actor="alice@example.com", kind="approval.approved", subject="apr-1",
                 payload={"reason": "ok, call +44 20 7946 0958", "nested": [{"mrn": "MRN-123456"}]})
    path = tmp_path / "audit.jsonl"
    assert audit.export_jsonl(store, path) == 6
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[0]["payload"] == {"n": 1, "who": "[EMAIL]"}
    assert lines[5]["actor"] == "[EMAIL]"
    assert lines[5]["payload"] == {"reason": "ok, call [PHONE]", "nested": [{"mrn": "[PATIENT_ID]"}]}
    assert lines[1]["prev_hash"] == lines[0]["hash"]
    assert "example.com" not in path.read_text()
