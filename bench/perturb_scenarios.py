"""Write perturbed copies of scenario files (new seeds, shifted fault starts, rescaled magnitudes) for a robustness check.

    python -m bench.perturb_scenarios --scenarios sims/scenarios --out out/perturbed --seed 20261125
    opsgraph bench incidents --scenarios out/perturbed --out out/perturbed.json
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

# Faults whose magnitude is a factor above 1 (a throughput loss, a traffic multiple, a leak rate).
FACTOR_FAULTS = ("latency_saturation", "traffic_surge", "memory_leak")


def perturb(data: dict, rng: random.Random) -> dict:
    """One perturbed scenario: another seed, faults starting 30 min earlier to 60 min later, magnitude x0.75-1.25."""
    data = dict(data, seed=data["seed"] + 7777, name=f"{data['name']}_perturbed")
    faults = []
    for fault in data.get("faults", []):
        fault = dict(fault)
        shift = rng.choice([-30, 15, 45, 60])
        fault["start_min"] = max(60, fault["start_min"] + shift)
        if fault.get("end_min") is not None:
            fault["end_min"] = fault["end_min"] + 60
        factor, magnitude = rng.uniform(0.75, 1.25), fault["magnitude"]
        if fault["type"] in FACTOR_FAULTS and magnitude > 1:
            fault["magnitude"] = round(max(1.5, 1 + (magnitude - 1) * factor), 3)
        elif magnitude <= 1:
            fault["magnitude"] = round(min(magnitude * factor, 1.0), 3)
        else:
            fault["magnitude"] = round(magnitude * factor, 3)
        faults.append(fault)
    data["faults"] = faults
    return data


def main() -> None:
    """Read every YAML in --scenarios, write its perturbed copy to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = sorted(args.scenarios.glob("*.yaml"))
    for path in paths:
        data = perturb(yaml.safe_load(path.read_text()), rng)
        (args.out / path.name).write_text(yaml.safe_dump(data, sort_keys=False))
    print(f"wrote {len(paths)} perturbed scenarios to {args.out}")


if __name__ == "__main__":
    main()
