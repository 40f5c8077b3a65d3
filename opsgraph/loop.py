"""The autonomous loop: ticks the simulator fleet, runs the graph per service, resumes decided approvals.

Approvals across processes
--------------------------
Every channel (HTTP API, web and terminal chat, Slack, CLI) only *records* a decision with
``policies.approvals.decide``; the decision lives in the store. The loop owns the worlds: at each
step it finds incidents whose graph thread waits on an approval that is no longer pending
(approved, rejected or expired), refreshes the identity book the execute node re-checks approvers'
roles against (``AgentDeps.roles``: role file + tokens + Slack mappings), and resumes the thread
under the world's cross-process lock. ``opsgraph approve`` still resumes in its own process; the lock and a
re-read of the thread under it make sure one thread is resumed once.

When a resumed thread ends (resolved or escalated) the loop tells its ``notifiers``
(``OutcomeNotifier``: Slack replaces the approval request with the final outcome).

One step = expire stale approvals → resume decided threads → advance the world one tick and
run ``Runtime.check_service`` for each service (every ``check_every`` steps; a service with a pending
Alertmanager signal is checked in the very next step, first) → save the world. A stop request (SIGTERM,
SIGINT) is honoured between steps, so the step in flight finishes and the world is saved.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import sims
from memory.models import IncidentRow
from memory.store import OPEN_STATUSES
from opsgraph.integrations import alertmanager
from opsgraph.integrations.channels import OutcomeNotifier
from opsgraph.runtime import RunResult, Runtime
from opsgraph.server.auth import home_identity_book
from opsgraph.server.metrics import METRICS
from policies import approvals
from policies.roles import RoleBook
from sims.scenario import load_scenario
from sims.world import SimWorld

DEFAULT_SCENARIO = Path(sims.__file__).parent / "scenarios" / "01_data_drift.yaml"
STATE_FILE = "loop.json"

log = logging.getLogger("opsgraph.loop")


# -- structured logs ------------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and every ``extra`` field."""

    _skip = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
                                 "level": record.levelname.lower(), "logger": record.name,
                                 "event": record.getMessage()}
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_json_logging(level: str = "INFO") -> None:
    """Send the ``opsgraph`` and ``uvicorn`` loggers to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("opsgraph", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


# -- reading worlds another process writes -----------------------------------------------------
class WorldReader:
    """Worlds read from their files, reloaded whenever the owner saved them: for the server and the chat."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, tuple[int, SimWorld]] = {}
        self._lock = threading.Lock()

    def open(self, source_id: str) -> tuple[SimWorld, SimWorld]:
        """The latest saved state of a world (a copy: changes to it are never saved)."""
        if not source_id or "/" in source_id or source_id.startswith("."):
            raise KeyError(f"invalid world id {source_id!r}")
        path = self.directory / f"{source_id}.pkl"
        with self._lock:
            try:
                stamp = path.stat().st_mtime_ns
            except FileNotFoundError:
                raise KeyError(f"no simulator world {source_id!r} in {self.directory}") from None
            cached = self._cache.get(source_id)
            if cached is None or cached[0] != stamp:
                try:
                    cached = (stamp, SimWorld.load(path))
                except (OSError, EOFError, pickle.UnpicklingError) as exc:  # replaced while we read: keep the old one
                    if cached is None:
                        raise KeyError(f"world {source_id!r} unreadable: {exc}") from exc
                self._cache[source_id] = cached
            return cached[1], cached[1]

    def commit(self, source_id: str) -> None:
        """Readers never save."""


# -- the loop ----------------------------------------------------------------------------------
class LoopState(BaseModel):
    """What survives a restart: which world the loop is playing, from which scenario."""

    world_id: str
    scenario: str
    started_at: datetime
    restarts: int = 0


@dataclass
class StepReport:
    """What one step did."""

    expired: list[str] = field(default_factory=list)
    resumed: list[RunResult] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)  # Alertmanager signals whose monitor pass ran this step
    minute: float = 0.0


class ServiceLoop:
    """The background loop over one simulator world; ``run()`` until ``stop`` is set."""

    def __init__(self, runtime: Runtime, *, scenario: Path | None = None, interval_s: float = 2.0,
                 new_world: bool = False, rolebook: Callable[[], RoleBook] | None = None,
                 on_run: Callable[[RunResult], None] | None = None,
                 notifiers: list[OutcomeNotifier] | None = None, check_every: int = 1) -> None:
        if interval_s < 0:
            raise ValueError(f"interval must be >= 0 seconds, not {interval_s!r}")
        if check_every < 1:
            raise ValueError(f"check_every must be >= 1 step, not {check_every!r}")
        self.check_every = check_every  # poll every service every N steps; an alert triggers its service at once
        self.runtime = runtime
        self.scenario_path = (scenario or DEFAULT_SCENARIO).resolve()
        self.interval_s = interval_s
        self.rolebook = rolebook or (lambda: home_identity_book(runtime.roles, runtime.settings.home))
        self.on_run = on_run
        self.notifiers = list(notifiers or [])  # told when a resumed incident closes (Slack updates its message)
        self.stop = threading.Event()
        self.steps = 0
        self.world = self._open_world(new_world)

    # -- world lifecycle
    @property
    def state_path(self) -> Path:
        return self.runtime.settings.home / STATE_FILE

    def _open_world(self, new_world: bool) -> SimWorld:
        """Reload the world of the last run of the same scenario, or create a fresh one."""
        scenario = load_scenario(self.scenario_path)
        registry = self.runtime.registry
        if not new_world and self.state_path.exists():
            try:
                state = LoopState.model_validate_json(self.state_path.read_text())
                if state.scenario == str(self.scenario_path) and registry.path(state.world_id).exists():
                    world, _ = registry.open(state.world_id)
                    log.info("loop.world_reloaded", extra={"world_id": state.world_id,
                                                           "minute": world.elapsed_min})
                    self._save_state(state.model_copy(update={"restarts": state.restarts + 1}))
                    return world
            except (ValueError, KeyError, OSError) as exc:
                log.warning("loop.state_unusable", extra={"path": str(self.state_path), "error": str(exc)})
        world = SimWorld.from_scenario(scenario, world_id=f"{scenario.name}-{uuid.uuid4().hex[:6]}")
        registry.register(world)
        self._save_state(LoopState(world_id=world.world_id, scenario=str(self.scenario_path),
                                   started_at=datetime.now(UTC)))
        log.info("loop.world_created", extra={"world_id": world.world_id, "scenario": scenario.name})
        return world

    def _save_state(self, state: LoopState) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=1))
        os.replace(tmp, self.state_path)

    def _upsert_services(self) -> None:
        """Publish the fleet to the store so the server and chat know which world serves each service."""
        now = datetime.now(UTC)
        for info in self.world.services():
            self.runtime.store.upsert_service(info.name, kind=info.kind, environment=info.environment, tier=info.tier,
                                              source_id=self.world.world_id, info=info.model_dump(mode="json"), at=now)

    # -- one step
    def step(self) -> StepReport:
        """Expire, resume, tick: one pass of the loop."""
        report = StepReport()
        now = datetime.now(UTC)
        report.expired = approvals.expire_stale(self.runtime.store, now)
        for approval_id in report.expired:
            log.info("approval.expired", extra={"approval_id": approval_id})
        # Approvers' roles are re-checked when an action executes (agents.execute), against the
        # identity book as it is now: a removed token or Slack mapping no longer counts.
        self.runtime.deps.roles = self.rolebook()
        report.resumed = [*self.continue_stopped(), *self.resume_decided()]
        registry = self.runtime.registry
        if self.world.done:
            self._restart_world()
        alerted = self._alerted()
        polling = self.steps % self.check_every == 0
        with registry.locked(self.world.world_id):
            self.world, _ = registry.open(self.world.world_id)  # another process may have changed it
            self.world.advance(self.world.scenario.tick_min)
            services = [s.name for s in self.world.scenario.services]
            for service in sorted(services, key=lambda s: s not in alerted):  # alerted services first
                if not polling and service not in alerted:
                    continue
                result = self.runtime.check_service(self.world.world_id, service)
                report.runs.append(result)
                self._tell(result, service)
                if service in alerted:
                    report.alerts += self._alerts_checked(alerted[service], service, result)
            registry.commit(self.world.world_id)
        self._upsert_services()
        report.minute = self.world.elapsed_min
        self.steps += 1
        return report

    # -- Alertmanager signals (opsgraph.integrations.alertmanager)
    def _alerted(self) -> dict[str, list[str]]:
        """Pending alert signals by service: each triggers a monitor pass of its service in this step."""
        out: dict[str, list[str]] = {}
        try:
            for row in alertmanager.pending(self.runtime.store):
                out.setdefault(row.service or "", []).append(row.id)
        except Exception:  # alerts are extra triggers; the regular checks still run
            log.exception("alerts.read_failed")
        return out

    def _alerts_checked(self, signal_ids: list[str], service: str, result: RunResult) -> list[str]:
        """Record the pass the alerts triggered, with the incident it opened or joined."""
        store = self.runtime.store
        if result.ended == "attached":
            joined = store.open_incident_for(service, self.world.world_id)
            incident_id = joined.id if joined else None
        else:
            incident_id = result.incident_id if result.ended != "quiet" and store.incident(result.incident_id) else None
        alertmanager.mark_checked(store, signal_ids, ended=result.ended, incident_id=incident_id)
        log.info("alerts.checked", extra={"service": service, "signals": signal_ids, "ended": result.ended,
                                          "incident_id": incident_id})
        return signal_ids

    def _restart_world(self) -> None:
        """The scenario ran out: play it again in a fresh world (open incidents keep their own world)."""
        log.info("loop.scenario_finished", extra={"world_id": self.world.world_id})
        self.world = self._open_world(new_world=True)

    def _tell(self, result: RunResult, service: str) -> None:
        METRICS.graph_run(result.ended)
        if self.on_run is not None:
            self.on_run(result)
        if result.ended != "quiet":
            log.info("graph.run", extra={"service": service, "incident_id": result.incident_id,
                                         "ended": result.ended, "minute": self.world.elapsed_min})

    # -- resuming threads whose approval was decided elsewhere
    def continue_stopped(self) -> list[RunResult]:
        """Run on every unfinished incident whose thread stopped between two checkpoints (its process died)."""
        results = []
        unfinished = [i for status in OPEN_STATUSES for i in self.runtime.store.incidents(status=status)]
        for incident in unfinished:
            # A cheap read first: the world's lock is only taken for a thread that needs carrying on.
            if incident.source_id is None or not self.runtime.stopped_midway(incident.id):
                continue
            with self.runtime.registry.locked(incident.source_id):
                result = self.runtime.continue_stopped(incident.id)
            if result is not None:
                log.info("loop.continued", extra={"incident_id": incident.id, "ended": result.ended})
                results.append(result)
        return results

    def resume_decided(self) -> list[RunResult]:
        """Resume every thread whose pending approval was approved, rejected or expired since."""
        results = []
        for incident in self.runtime.store.incidents(status="awaiting_approval"):
            for _ in range(8):  # one resume per decided approval; a thread may wait on several
                result = self._resume_one(incident)
                if result is None:
                    break
                results.append(result)
                if result.ended != "awaiting_approval":
                    break
        return results

    def _decided(self, incident_id: str) -> Any:
        for approval_id in self.runtime.waiting_on(incident_id):
            row = self.runtime.store.approval(approval_id)
            if row is not None and row.status != "pending":
                return row
        return None

    def _resume_one(self, incident: IncidentRow) -> RunResult | None:
        if incident.source_id is None or self._decided(incident.id) is None:
            return None
        with self.runtime.registry.locked(incident.source_id):
            row = self._decided(incident.id)  # re-read under the lock: `opsgraph approve` may have resumed it
            if row is None:
                return None
            approved, by = row.status == "approved", row.decided_by or f"system:{row.status}"
            answer = {"approval_id": row.id, "approved": approved, "by": by}
            result = self.runtime.resume(incident.id, answer)
            if incident.source_id == self.world.world_id:
                self.world, _ = self.runtime.registry.open(incident.source_id)
        log.info("approval.resumed", extra={"approval_id": row.id, "incident_id": incident.id,
                                            "status": row.status, "approved": approved, "ended": result.ended})
        self._tell(result, incident.service)
        if result.ended in ("resolved", "escalated"):
            self._closed(incident.id)
        return result

    def _closed(self, incident_id: str) -> None:
        """Tell every notifier that a resumed incident closed; a failing notifier never stops the loop."""
        for notifier in self.notifiers:
            try:
                notifier.incident_closed(incident_id)
            except Exception:
                log.exception("notifier.failed", extra={"incident_id": incident_id,
                                                        "notifier": type(notifier).__name__})

    # -- running
    def run(self, *, max_steps: int | None = None) -> None:
        """Step every ``interval_s`` until ``stop`` is set (or ``max_steps`` steps ran); then save the world."""
        log.info("loop.started", extra={"world_id": self.world.world_id, "interval_s": self.interval_s,
                                        "scenario": str(self.scenario_path)})
        try:
            while not self.stop.is_set() and (max_steps is None or self.steps < max_steps):
                started = time.monotonic()
                try:
                    report = self.step()
                except Exception:  # one bad step must not end the service
                    log.exception("loop.step_failed")
                else:
                    log.debug("loop.step", extra={"minute": report.minute, "runs": len(report.runs),
                                                  "resumed": len(report.resumed), "expired": len(report.expired)})
                self.stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        finally:
            self.close()

    def close(self) -> None:
        """Save the world (under its lock) so a restart resumes from here."""
        with self.runtime.registry.locked(self.world.world_id):
            self.runtime.registry.commit(self.world.world_id)
        log.info("loop.stopped", extra={"world_id": self.world.world_id, "steps": self.steps,
                                        "minute": self.world.elapsed_min})
