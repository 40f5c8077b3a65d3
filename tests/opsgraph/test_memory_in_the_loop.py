"""Closed incidents land in vector memory, and the next similar incident cites them as evidence."""

from __future__ import annotations

from pathlib import Path

from opsgraph.runtime import Runtime
from opsgraph.scenario_run import run_scenario
from opsgraph.settings import Settings
from tests.opsgraph.conftest import scenario


def test_a_recurring_fault_cites_the_incident_that_fixed_it_before(home: Path) -> None:
    with Runtime(Settings.from_env()) as runtime:
        assert runtime.memory is not None
        first = run_scenario(runtime, scenario("04_"), approver=None)
        second = run_scenario(runtime, scenario("04_"), approver=None)
        assert runtime.memory.count() >= 1
        earlier, later = first.incident_ids[0], second.incident_ids[0]
        incident = runtime.store.incident(later)
        assert incident is not None and incident.status == "resolved"
        note = incident.diagnosis.get("memory_note", "")
        assert earlier in note and "confirmed by a verified fix" in note
        similar = [s["incident_id"] for s in incident.diagnosis.get("similar_incidents", [])]
        assert earlier in similar
