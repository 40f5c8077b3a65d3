"""How often the monitor's metric-anomaly check fires on scenarios with and without faults, per threshold.

    python -m bench.metric_anomaly_flags --scenarios sims/scenarios --thresholds 0.6 0.9 0.97

Each scenario's world is advanced in steps of ``--every`` minutes; at each step every service runs the
monitor's ``metric_anomaly`` check alone (24 h of per-tick metrics, flags in the latest step only). Two
counts per threshold: ``raw`` — any metric whose detector flags a point of the latest step, in either
direction, at any level (what the detector alone would raise); ``monitor`` — the check's findings, which
keep the harmful direction and material levels only. Control scenarios (no fault) should raise nothing;
for fault scenarios the table gives how many were flagged and the median minutes from the first fault's
start to the first flag.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np

from agents.deps import MonitorSettings
from agents.monitor import scan
from sims.scenario import Scenario, load_scenarios
from sims.world import SimWorld


def flags(scenario: Scenario, threshold: float, every: float) -> tuple[list[float], list[float]]:
    """Minutes (since start) of each raw flag and each monitor finding over the scenario."""
    settings = replace(MonitorSettings(), anomaly_threshold=threshold, window_min=every)
    world = SimWorld.from_scenario(scenario)
    raw: list[float] = []
    found: list[float] = []
    recent = max(1, round(every / scenario.tick_min))
    while not world.done:
        world.advance(every)
        for info in world.services():
            checked = scan(world, info, settings, kinds=("metric_anomaly",))
            # The check's own detector runs, one per metric: "raw" is any of them flagging the latest step.
            raw += [world.elapsed_min for r in checked.results
                    if r.ok and r.figure("last_index") is not None and r.figure("last_index") >= r.inputs["n"] - recent]
            found += [world.elapsed_min] * len(checked.findings)
    return raw, found


def main(argv: list[str] | None = None) -> None:
    """Command line entry point: print one table row per threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=Path, required=True)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.6, 0.9, 0.97])
    parser.add_argument("--every", type=float, default=15.0, help="minutes between checks")
    args = parser.parse_args(argv)
    scenarios = load_scenarios(args.scenarios)
    print("| threshold | control flags raw / monitor | fault scenarios flagged raw / monitor "
          "| median minutes to first monitor flag |")
    print("|---|---|---|---|")
    for threshold in args.thresholds:
        control = [0, 0]
        flagged = [0, 0]
        delays: list[float] = []
        faults = 0
        for scenario in scenarios:
            raw, found = flags(scenario, threshold, args.every)
            if not scenario.faults:
                control[0] += len(raw)
                control[1] += len(found)
                continue
            faults += 1
            start = min(f.start_min for f in scenario.faults)
            after_raw = [m for m in raw if m >= start]
            after = [m for m in found if m >= start]
            flagged[0] += bool(after_raw)
            flagged[1] += bool(after)
            if after:
                delays.append(after[0] - start)
        median = statistics.median(delays) if delays else float(np.nan)
        print(f"| {threshold:g} | {control[0]} / {control[1]} | {flagged[0]} / {flagged[1]} of {faults} "
              f"| {median:.0f} |")


if __name__ == "__main__":
    main()
