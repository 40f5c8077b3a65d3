"""Memory benchmark: the same root causes recur; compare the graph with vector memory and without it."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsgraph.bench_incidents import SCRIPTED_APPROVER, ScenarioScore, scripted_approver, score_scenario, summarize
from opsgraph.runtime import Runtime
from opsgraph.scenario_run import run_scenario
from opsgraph.settings import Settings
from sims.scenario import Scenario

KEYS = ("rca_top1", "remediation_correct", "median_time_to_recover_min", "undo_count", "auto_resolved_share")


def recurring(scenarios: list[Scenario], rounds: int) -> list[Scenario]:
    """Each scenario ``rounds`` times, reseeded, interleaved so causes recur among others."""
    return [s.model_copy(update={"seed": s.seed + 1000 * r, "name": f"{s.name}#r{r}"})
            for r in range(rounds) for s in scenarios]


def run_sequence(sequence: list[Scenario], *, memory: bool, home: Path, disabled_probes: frozenset[str] = frozenset(),
                 on_row: Callable[[ScenarioScore], None] | None = None) -> list[ScenarioScore]:
    """Run the sequence in one data directory, with or without vector memory (and with some probes unasked)."""
    settings = Settings.from_env(home).model_copy(update={"user": SCRIPTED_APPROVER, "memory_enabled": memory,
                                                          "roles_file": None})
    rows = []
    with Runtime(settings) as runtime:
        runtime.deps.settings = dataclasses.replace(runtime.deps.settings, disabled_probes=disabled_probes)
        for scenario in sequence:
            outcome = run_scenario(runtime, scenario, approver=scripted_approver(runtime, scenario))
            row = score_scenario(runtime, outcome, 0.0)
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def compare(scenarios: list[Scenario], *, rounds: int = 3, disabled_probes: frozenset[str] = frozenset(),
            on_row: Callable[[str, ScenarioScore], None] | None = None) -> dict[str, Any]:
    """Headline figures with and without memory, on every round after the first (memory has seen each cause)."""
    sequence = recurring(scenarios, rounds)
    later = len(scenarios)  # rows from the second round on
    result: dict[str, Any] = {"scenarios": [s.name for s in scenarios], "rounds": rounds,
                              "disabled_probes": sorted(disabled_probes)}
    for label, memory in (("without_memory", False), ("with_memory", True)):
        with tempfile.TemporaryDirectory(prefix=f"opsgraph-mem-{label}-") as home:
            rows = run_sequence(sequence, memory=memory, home=Path(home), disabled_probes=disabled_probes,
                                on_row=(lambda r, lab=label: on_row(lab, r)) if on_row else None)
        summary = summarize(rows[later:])
        result[label] = {key: summary[key] for key in KEYS} | {"runs": len(rows) - later}
        result[f"{label}_rows"] = [r.model_dump() for r in rows]
    return result
