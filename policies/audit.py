"""The hash-chained, append-only audit log: append, verify, export."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from memory.models import AuditRow
from memory.store import Store
from policies.redact import redact, redact_obj

GENESIS = "0" * 64
_APPEND_ATTEMPTS = 20


def entry_hash(prev_hash: str, *, at: datetime, actor: str, kind: str, incident_id: str | None,
               subject: str, payload: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical JSON of one entry's content."""
    body = json.dumps(
        {"prev": prev_hash, "at": _iso(at), "actor": actor, "kind": kind,
         "incident_id": incident_id, "subject": subject, "payload": payload},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _iso(at: datetime) -> str:
    """Timestamps hash the same whether or not the database kept the time zone."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


def append(store: Store, *, actor: str, kind: str, incident_id: str | None = None, subject: str = "",
           payload: dict[str, Any] | None = None, at: datetime | None = None) -> AuditRow:
    """Append one entry, chained to the last one, in a single write transaction."""
    payload = json.loads(json.dumps(payload or {}, default=str))
    at = at or datetime.now(UTC)
    # prev_hash is unique: two writers racing for the same tail cannot fork the chain; the loser retries.
    for _attempt in range(_APPEND_ATTEMPTS):
        try:
            with store.session() as session:
                last = session.scalars(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).first()
                prev = last.hash if last else GENESIS
                row = AuditRow(at=at, actor=actor, kind=kind, incident_id=incident_id, subject=subject,
                               payload=payload, prev_hash=prev,
                               hash=entry_hash(prev, at=at, actor=actor, kind=kind, incident_id=incident_id,
                                               subject=subject, payload=payload))
                session.add(row)
            return row
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the audit log: too much contention")


class AuditVerdict(BaseModel):
    """Result of checking the chain."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(store: Store) -> AuditVerdict:
    """Walk the chain and name the first entry that was edited, deleted or reordered."""
    prev = GENESIS
    rows = store.audit_entries()
    for row in rows:
        if row.prev_hash != prev:
            return AuditVerdict(ok=False, entries=len(rows), first_bad_seq=row.seq,
                                reason=f"entry {row.seq} does not follow entry before it (deleted or reordered)")
        expected = entry_hash(prev, at=row.at, actor=row.actor, kind=row.kind, incident_id=row.incident_id,
                              subject=row.subject, payload=row.payload)
        if expected != row.hash:
            return AuditVerdict(ok=False, entries=len(rows), first_bad_seq=row.seq,
                                reason=f"entry {row.seq} content does not match its hash (edited)")
        prev = row.hash
    return AuditVerdict(ok=True, entries=len(rows))


def export_jsonl(store: Store, path: Path | str) -> int:
    """Write the chain as JSON lines for sharing, personal data redacted; returns the number of entries.

    Hashes are exported as stored, so an export shows the chain's shape but cannot re-verify
    redacted entries: verify against the database, share the export.
    """
    rows = store.audit_entries()
    with Path(path).open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({
                "seq": row.seq, "at": _iso(row.at), "actor": redact(row.actor), "kind": row.kind,
                "incident_id": row.incident_id, "subject": redact(row.subject), "payload": redact_obj(row.payload),
                "prev_hash": row.prev_hash, "hash": row.hash, "redacted": True,
            }, sort_keys=True, default=str) + "\n")
    return len(rows)
