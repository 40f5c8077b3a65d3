"""Replica count that brings observed utilisation down to a target (the quick capacity estimate)."""

from __future__ import annotations

import math

from tools.results import ToolInputError, ToolResult, tool_result


def replicas_for_utilization(*, utilization: float, replicas: int, target_utilization: float = 0.6,
                             max_replicas: int = 64, min_step: int = 1) -> ToolResult:
    """Replicas needed so that the same load runs at ``target_utilization`` (load scales as 1/replicas).

    A saturated queue hides how far over capacity it is (utilisation reads as ~1), so at
    saturation the estimate doubles the replicas at least.
    """
    if not math.isfinite(utilization) or utilization < 0:
        raise ToolInputError(f"utilization must be a finite number >= 0, not {utilization!r}")
    if replicas < 1 or max_replicas < 1:
        raise ToolInputError(f"replicas and max_replicas must be >= 1, not {replicas!r}, {max_replicas!r}")
    if not 0 < target_utilization < 1:
        raise ToolInputError(f"target_utilization must be in (0, 1), not {target_utilization!r}")
    load = utilization * replicas
    needed = math.ceil(load / target_utilization)
    if utilization >= 0.97:
        needed = max(needed, 2 * replicas)
    needed = max(needed, replicas + min_step)
    capped = min(needed, max_replicas)
    return tool_result(
        "scaling",
        inputs={"utilization": utilization, "replicas": replicas, "target_utilization": target_utilization,
                "max_replicas": max_replicas},
        figures={"replicas_needed": capped, "replicas_uncapped": needed, "capped": capped < needed,
                 "utilization_after": load / capped},
    )
