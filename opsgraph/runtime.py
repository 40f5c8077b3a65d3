"""Wires the real parts together: store, checkpointer, policies, memory, simulator registry and the graph."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from agents.deps import AgentDeps, ApprovalChannel
from agents.graph import build_graph
from memory.store import Store
from opsgraph.settings import Settings
from opsgraph.simulation import SimRegistry
from policies import approvals
from policies.catalogue import Catalogue
from policies.engine import PolicyEngine
from policies.roles import RoleBook

StepCallback = Callable[[str, str, dict[str, Any]], None]  # (service, node, update)


@dataclass
class RunResult:
    """How one graph run ended: quiet, attached to an open incident, waiting for approval, or closed."""

    incident_id: str
    ended: str  # quiet | attached | awaiting_approval | resolved | escalated
    state: dict[str, Any] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)


def new_incident_id() -> str:
    """A fresh incident id, also the graph thread id."""
    return f"inc-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"


class Runtime:
    """One process's OpsGraph: open it, run ticks or resume threads, close it."""

    def __init__(self, settings: Settings, *, channels: list[ApprovalChannel] | None = None) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.database_url)
        self.registry = SimRegistry(settings.worlds_dir)
        self._conn = sqlite3.connect(settings.checkpoint_path, check_same_thread=False)
        self.checkpointer = SqliteSaver(self._conn)
        self.catalogue = Catalogue.load()
        self.policy = PolicyEngine.load(settings.policy_file)
        self.memory = self._open_memory()
        self.roles = self._role_book()
        self.deps = AgentDeps(store=self.store, sources=self.registry, catalogue=self.catalogue, policy=self.policy,
                              memory=self.memory, roles=self.roles, postmortem_dir=settings.postmortem_dir,
                              channels=list(channels or []))
        self.graph = build_graph(self.deps, checkpointer=self.checkpointer)

    def _role_book(self) -> RoleBook:
        """Roles from OPSGRAPH_ROLES_FILE; without one, the local user who owns the data directory is admin."""
        if self.settings.roles_file is not None:
            return RoleBook.load(self.settings.roles_file)
        return RoleBook(users={self.settings.user: ["admin"]}, default_roles=["viewer"])

    def identity_book(self) -> RoleBook:
        """The role file merged with API tokens and Slack users of this data directory, as they are now."""
        from opsgraph.server.auth import home_identity_book

        return home_identity_book(self.roles, self.settings.home)

    def roles_of(self, user: str) -> set[str]:
        """The roles a user holds here."""
        return self.identity_book().roles_of(user)

    def _open_memory(self) -> Any:
        """Vector memory of past incidents (chromadb), unless switched off."""
        if not self.settings.memory_enabled:
            return None
        from memory.vector import IncidentMemory

        if self.settings.chroma_host:
            return IncidentMemory(host=self.settings.chroma_host, port=self.settings.chroma_port)
        return IncidentMemory(self.settings.chroma_path)

    def close(self) -> None:
        """Release the checkpoint connection and the database engine."""
        self._conn.close()
        self.store.engine.dispose()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running threads ---------------------------------------------------------------
    def _finish(self, incident_id: str, service: str, on_step: StepCallback | None, payload: Any) -> RunResult:
        """Drive a thread until it ends or waits, telling ``on_step`` about each node, and say how it ended."""
        config = {"configurable": {"thread_id": incident_id}}
        for chunk in self.graph.stream(payload, config, stream_mode="updates"):
            for node, update in chunk.items():
                if on_step is not None and node != "__interrupt__":
                    on_step(service, node, update or {})
        snapshot = self.graph.get_state({"configurable": {"thread_id": incident_id}})
        state = dict(snapshot.values)
        if snapshot.next:
            pending = [intr.value for task in snapshot.tasks for intr in task.interrupts]
            return RunResult(incident_id, "awaiting_approval", state, pending)
        if not state.get("findings"):
            ended = "quiet"
        elif state.get("triage") == "attached":
            ended = "attached"
        else:
            ended = state.get("status", "escalated")
        if ended in ("quiet", "attached"):
            self.checkpointer.delete_thread(incident_id)  # nothing worth keeping: no incident was opened
        return RunResult(incident_id, ended, state)

    def check_service(self, source_id: str, service: str, *, on_step: StepCallback | None = None) -> RunResult:
        """One monitor pass over a service; opens and works an incident if anything fires."""
        incident_id = new_incident_id()
        payload = {"incident_id": incident_id, "source_id": source_id, "service": service, "timeline": []}
        return self._finish(incident_id, service, on_step, payload)

    def waiting_on(self, incident_id: str) -> list[str]:
        """Approval ids the incident's thread is paused on (empty when it is not waiting)."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": incident_id}})
        return [p["approval_id"] for task in snapshot.tasks for intr in task.interrupts
                for p in (intr.value or {}).get("pending", [])] if snapshot.next else []

    def stopped_midway(self, incident_id: str) -> bool:
        """The thread has nodes left to run yet pauses on nothing: its process died between two checkpoints."""
        snapshot = self.graph.get_state({"configurable": {"thread_id": incident_id}})
        return bool(snapshot.next) and not any(task.interrupts for task in snapshot.tasks)

    def continue_stopped(self, incident_id: str, *, on_step: StepCallback | None = None) -> RunResult | None:
        """Run a thread whose process died between two checkpoints on to its next pause or end; caller holds the
        world's lock. None when the thread is not stopped mid-way (it waits, has ended, or never started)."""
        incident = self.store.incident(incident_id)
        if incident is None or not self.stopped_midway(incident_id):
            return None
        return self._finish(incident_id, incident.service, on_step, None)

    def resume(self, incident_id: str, answer: dict[str, Any], *, on_step: StepCallback | None = None) -> RunResult:
        """Resume a thread paused on an approval with the decision; caller holds the world's lock.

        A thread that no longer waits on this approval (another process resumed it) is left alone.
        """
        incident = self.store.incident(incident_id)
        if incident is None:
            raise KeyError(f"unknown incident {incident_id!r}")
        if answer.get("approval_id") not in self.waiting_on(incident_id):
            # The process running it may have stopped after the approval became visible but before the
            # thread paused on it: run it to its pause first (re-running a node reuses its approval request).
            self.continue_stopped(incident_id, on_step=on_step)
        if answer.get("approval_id") not in self.waiting_on(incident_id):
            return RunResult(incident_id, incident.status)
        self.deps.roles = self.identity_book()  # approvers' roles are re-checked at execution, as they are now
        return self._finish(incident_id, incident.service, on_step, Command(resume=answer))

    def decide(self, approval_id: str, *, approve: bool, user: str, roles: set[str] | None = None,
               reason: str = "", on_step: StepCallback | None = None) -> RunResult:
        """Record a human decision, then resume the incident's thread (in this process)."""
        roles = self.roles_of(user) if roles is None else roles
        row = approvals.decide(self.store, approval_id, user=user, roles=roles, approve=approve,
                               now=datetime.now(UTC), reason=reason)
        if row.status == "pending":  # more approvers needed
            return RunResult(row.incident_id, "awaiting_approval")
        incident = self.store.incident(row.incident_id)
        assert incident is not None and incident.source_id is not None
        with self.registry.locked(incident.source_id):
            answer = {"approval_id": approval_id, "approved": row.status == "approved", "by": row.decided_by}
            return self.resume(row.incident_id, answer, on_step=on_step)
