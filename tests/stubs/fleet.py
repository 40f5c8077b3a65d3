"""A running fleet for tests: a loop on a fast scenario, stepped until something needs a human."""

from __future__ import annotations

from pathlib import Path

import yaml

from opsgraph.loop import ServiceLoop
from opsgraph.runtime import Runtime
from sims.scenario import BUNDLED


def fast_scenario(directory: Path, name: str = "01_data_drift.yaml", *, start_min: float = 10.0) -> Path:
    """A shipped scenario with its fault moved near the start, so a test reaches it in a few ticks."""
    spec = yaml.safe_load((BUNDLED / name).read_text())
    for fault in spec.get("faults", []):
        fault["start_min"] = start_min
        fault["ramp_min"] = min(fault.get("ramp_min", 0), 10)
    spec["duration_min"] = 24 * 60
    path = directory / f"fast_{name}"
    path.write_text(yaml.safe_dump(spec))
    return path


def step_until(loop: ServiceLoop, done, *, max_steps: int = 120) -> int:
    """Step the loop until ``done()`` holds; return the steps it took."""
    for steps in range(1, max_steps + 1):
        loop.step()
        if done():
            return steps
    raise AssertionError(f"condition not reached in {max_steps} steps")


def pending_loop(runtime: Runtime, directory: Path, name: str = "01_data_drift.yaml", **kwargs) -> ServiceLoop:
    """A loop stepped until an approval is pending."""
    loop = ServiceLoop(runtime, scenario=fast_scenario(directory, name), interval_s=0, **kwargs)
    step_until(loop, lambda: bool(runtime.store.approvals(status="pending")))
    return loop
