"""Runs one scenario through the real graph, tick by tick, and reports what happened against its ground truth."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsgraph.runtime import RunResult, Runtime, StepCallback
from sims.scenario import Scenario
from sims.world import SimWorld

# After an incident closes (or starts waiting for a human) keep watching this long, to catch relapses.
SETTLE_MIN = 60.0

def minutes_between(later: datetime | None, earlier: datetime | None) -> float | None:
    """Minutes from ``earlier`` to ``later`` (one decimal), or None when either is unknown."""
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 60.0, 1)


Approver = Callable[[dict[str, Any], RunResult], tuple[bool, str] | None]


@dataclass
class ScenarioOutcome:
    """One scenario's incidents and timings, judged against its ground truth."""

    scenario: Scenario
    world_id: str
    incident_ids: list[str] = field(default_factory=list)
    simulated_min: float = 0.0

    @property
    def fault_start(self) -> datetime | None:
        """When the first fault began (source time)."""
        if not self.scenario.faults:
            return None
        return self.scenario.start + timedelta(minutes=min(f.start_min for f in self.scenario.faults))


def run_scenario(runtime: Runtime, scenario: Scenario, *, on_step: StepCallback | None = None,
                 approver: Approver | None = None, on_pending: Callable[[RunResult], None] | None = None,
                 stop_early: bool = True) -> ScenarioOutcome:
    """Tick the scenario's world, run the graph per service per tick, answer approvals via ``approver``."""
    world = SimWorld.from_scenario(scenario, world_id=f"{scenario.name}-{uuid.uuid4().hex[:6]}")
    runtime.registry.register(world)
    outcome = ScenarioOutcome(scenario=scenario, world_id=world.world_id)
    last_incident_at: float | None = None
    services = [s.name for s in scenario.services]
    while not world.done:
        world.advance(scenario.tick_min)
        for service in services:
            result = runtime.check_service(world.world_id, service, on_step=on_step)
            if result.ended in ("quiet", "attached"):
                continue
            outcome.incident_ids.append(result.incident_id)
            last_incident_at = world.elapsed_min
            if result.ended == "awaiting_approval":
                runtime.registry.commit(world.world_id)  # whoever approves, here or elsewhere, acts on this state
            result = _answer(runtime, result, approver, on_step)
            world, _ = runtime.registry.open(world.world_id)  # the approval may have reloaded it
            if result.ended == "awaiting_approval" and on_pending is not None:
                on_pending(result)
        # Each incident runs to its end inside check_service unless it waits for a human, so once
        # SETTLE_MIN passes with no new incident, the rest of the scenario only repeats itself.
        if stop_early and last_incident_at is not None and world.elapsed_min - last_incident_at >= SETTLE_MIN:
            break
    runtime.registry.commit(world.world_id)
    outcome.simulated_min = world.elapsed_min
    return outcome


def _answer(runtime: Runtime, result: RunResult, approver: Approver | None, on_step: StepCallback | None) -> RunResult:
    """Let the approver answer each pending approval of a thread, in this process."""
    while result.ended == "awaiting_approval" and approver is not None:
        pending = runtime.store.approvals(status="pending", incident_id=result.incident_id)
        if not pending:
            break
        row = pending[0]
        answer = approver({"approval_id": row.id, "action_id": row.action_id, "summary": row.summary,
                           "rule_id": row.rule_id, "incident_id": row.incident_id}, result)
        if answer is None:
            break
        approve, user = answer
        result = runtime.decide(row.id, approve=approve, user=user, on_step=on_step)
    return result
