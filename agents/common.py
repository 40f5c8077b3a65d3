"""Small helpers the nodes share: timeline events, service lookup, tool-call persistence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from memory.models import ToolCallRow
from memory.store import Store
from tools.observations import MetricSource, ServiceInfo


def event(step: str, text: str, **data: Any) -> dict[str, Any]:
    """One timeline entry: which step, what it found or did, and when (wall clock)."""
    return {"step": step, "text": text, "at": datetime.now(UTC).isoformat(), **data}


def service_info(source: MetricSource, name: str) -> ServiceInfo:
    """The description of one service of a source; a clear error for an unknown name."""
    for info in source.services():
        if info.name == name:
            return info
    raise KeyError(f"unknown service {name!r}; known: {', '.join(s.name for s in source.services())}")


def save_tool_calls(store: Store, incident_id: str, results: list[dict[str, Any]]) -> None:
    """Persist tool calls so every cited id can be looked up later."""
    now = datetime.now(UTC)
    store.add(*[ToolCallRow(tool_call_id=r["tool_call_id"], tool=r["tool"], status=str(r["status"]),
                            incident_id=incident_id, inputs=r.get("inputs", {}), figures=r.get("figures", {}),
                            message=r.get("message", ""), at=now) for r in results])


def parse_time(value: str) -> datetime:
    """An ISO timestamp from the state back to an aware datetime."""
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
