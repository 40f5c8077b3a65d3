"""Verify agent: lets time pass after the fix and re-runs the checks that fired, on post-fix data only."""

from __future__ import annotations

from typing import Any

from agents.common import event, save_tool_calls, service_info
from agents.deps import AgentDeps
from agents.monitor import RECOVERY_KINDS, scan, symptom_kinds, tick_minutes
from agents.state import Finding, IncidentState, PlanStep
from policies import audit
from tools.results import ToolResult
from tools.rootcause import resource_trend

MAX_SCALING_ROUNDS = 4
SATURATED = 0.8  # utilisation (arrival rate / capacity) at which a service is still short of replicas


def _utilisation_trend(source: Any, service: str, minutes: float, limit: float,
                       results: list[ToolResult]) -> ToolResult | None:
    """``resource_trend`` of the service's utilisation over the last ``minutes`` against ``limit`` (None: no series)."""
    window = source.window(service, minutes)
    util = window.metrics.get("utilization")
    if util is None or len(util) == 0:
        return None
    result = resource_trend(util, limit=limit, step_min=tick_minutes(window), horizon_min=minutes)
    results.append(result)
    return result


def _still_short_of_capacity(source: Any, service: str, wait: float, results: list[ToolResult]) -> ToolResult | None:
    """The scaled service's utilisation over the verify window: still at (or climbing to) saturation?"""
    info = service_info(source, service)
    if info.replicas >= info.max_replicas:
        return None
    result = _utilisation_trend(source, service, wait, SATURATED, results)
    return result if result is not None and result.ok and result.figure("at_risk") else None


def _still_overloaded(source: Any, service: str, minutes: float, results: list[ToolResult]) -> bool:
    """Arrivals still beat capacity after scaling (utilisation level >= 1): the queue can only grow, so say so now."""
    result = _utilisation_trend(source, service, minutes, 1.0, results)
    return bool(result is not None and result.ok and result.figure("level") >= result.figure("limit"))


def _scaled_service(state: IncidentState) -> str | None:
    """The service scaled when the executed plan is a single scale-up, else None."""
    executed = [PlanStep(**s) for s in state.get("plan", []) if s.get("status") == "executed"]
    return executed[0].action["service"] if [s.action["name"] for s in executed] == ["scale_up"] else None


def _p95_before(state: IncidentState) -> float | None:
    """p95 latency at the last look before this verify: the previous round's check, else the incident's findings.

    The previous round counts because a fault caught early (by a metric anomaly, while still ramping) is
    worse at the first verify than when it was found; what matters then is whether the next step lowered it.
    """
    if state.get("last_p95_ms") is not None:
        return state["last_p95_ms"]
    for f in state["findings"]:
        if f["kind"] == "latency_slo":
            return f["figures"].get("p95_ms")
        if f["kind"] == "metric_anomaly" and "p95_ms" in f["figures"].get("values", {}):
            return f["figures"]["values"]["p95_ms"]
    return None


def _scaling_helped(state: IncidentState, post: list[Finding], source: Any = None, wait: float = 60.0,
                    results: list[ToolResult] | None = None) -> bool:
    """Scaling earns another round instead of an undo when it lowered p95 but not enough, or the load still outgrows it.

    A fault that is still ramping up (a growing surge, a co-tenant taking more of the GPU) can
    outrun the first scaling step: p95 is then worse than before, yet the scaled service is still
    saturated, so the fix is more of the same, not an undo.
    """
    scaled = _scaled_service(state)
    if scaled is None or state.get("rounds", 0) + 1 >= MAX_SCALING_ROUNDS:
        return False
    if {f.kind for f in post} - {"latency_slo", "error_rate"}:
        return False
    before = _p95_before(state)
    after = [f.figures.get("p95_ms") for f in post if f.kind == "latency_slo"]
    if before is not None and (not after or (after[0] is not None and after[0] < before)):
        return True
    if source is None:
        return False
    return _still_short_of_capacity(source, scaled, wait, results if results is not None else []) is not None


def verify_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Recovered when no original signal fires again, nothing new fires, and some check could judge."""
    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    wait = deps.settings.verify_wait_min
    early = deps.settings.verify_overload_min
    scaled = _scaled_service(state)
    overload: list[ToolResult] = []
    if scaled is not None and 0 < early < wait:
        # A scale-up that left arrivals above capacity cannot recover; waiting the full window only lets the
        # queue grow, so judge after ``early`` minutes (the next round sizes from the post-scaling load).
        source.wait(early)
        if _still_overloaded(source, scaled, early, overload):
            wait = early
        else:
            source.wait(wait - early)
    else:
        source.wait(wait)
    deps.sources.commit(state["source_id"])
    # A metric anomaly is judged by the threshold check of the symptom it foreshadowed (see RECOVERY_KINDS).
    original = sorted(symptom_kinds([Finding(**f) for f in state["findings"]]) & set(RECOVERY_KINDS))
    post = scan(source, info, deps.settings, window_min=wait, label_window_min=wait, kinds=RECOVERY_KINDS,
                accuracy_alpha=deps.settings.verify_accuracy_alpha)
    firing = sorted({f.kind for f in post.findings})
    still = [k for k in firing if k in original]
    new = [k for k in firing if k not in original]
    judged = [k for k in original if post.checked.get(k)]
    recovered = not firing and bool(judged)
    extra: list[ToolResult] = []
    partial = not recovered and _scaling_helped(state, post.findings, source, wait, extra)
    post.results.extend([*overload, *extra])
    save_tool_calls(deps.store, state["incident_id"], [r.model_dump(mode="json") for r in post.results])
    verification = {"recovered": recovered, "partial": partial, "still_firing": still, "new_signals": new, "judged": judged,
                    "waited_min": wait, "checked_at": source.now().isoformat(),
                    "findings": [f.model_dump(mode="json") for f in post.findings],
                    "tool_call_ids": [r.tool_call_id for r in post.results]}
    audit.append(deps.store, actor=deps.actor, kind="verification", incident_id=state["incident_id"],
                 subject="recovered" if recovered else "not_recovered",
                 payload={k: v for k, v in verification.items() if k != "findings"})
    if recovered:
        text = f"recovered after {wait:.0f} min: {', '.join(judged)} back within thresholds"
    elif partial:
        short = [r for r in extra if r.figure("at_risk")]
        text = "improved but not recovered: " + "; ".join(f.summary for f in post.findings) + (
            f"; still short of capacity (utilisation {short[0].cite('level', '{:.2f}')})" if short else "") + (
            "; scaling further")
    elif not judged and not firing:
        text = f"not enough post-fix data after {wait:.0f} min to judge {', '.join(original)}"
    else:
        text = "not recovered: " + "; ".join(f.summary for f in post.findings)
    breached = [f.figures.get("p95_ms") for f in post.findings if f.kind == "latency_slo"]
    return {"verification": verification, "last_p95_ms": breached[0] if breached else None,
            "timeline": [event("verify", text)]}
