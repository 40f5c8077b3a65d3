"""Verify agent: lets time pass after the fix and re-runs the checks that fired, on post-fix data only."""

from __future__ import annotations

from typing import Any

from agents.common import event, save_tool_calls, service_info
from agents.deps import AgentDeps
from agents.monitor import FINDING_KINDS, scan
from agents.state import Finding, IncidentState, PlanStep

MAX_SCALING_ROUNDS = 3


def _scaling_helped(state: IncidentState, post: list[Finding]) -> bool:
    """Scaling that lowered p95 but not enough earns another round instead of an undo."""
    steps = [PlanStep(**s) for s in state.get("plan", [])]
    executed = [s.action["name"] for s in steps if s.status == "executed"]
    if executed != ["scale_up"] or state.get("rounds", 0) + 1 >= MAX_SCALING_ROUNDS:
        return False
    if {f.kind for f in post} - {"latency_slo", "error_rate"}:
        return False
    before = [f["figures"].get("p95_ms") for f in state["findings"] if f["kind"] == "latency_slo"]
    after = [f.figures.get("p95_ms") for f in post if f.kind == "latency_slo"]
    if not before or before[0] is None:
        return False
    return not after or (after[0] is not None and after[0] < before[0])
from policies import audit


def verify_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Recovered when no original signal fires again, nothing new fires, and some check could judge."""
    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    wait = deps.settings.verify_wait_min
    source.wait(wait)
    deps.sources.commit(state["source_id"])
    original = sorted({Finding(**f).kind for f in state["findings"]})
    post = scan(source, info, deps.settings, window_min=wait, label_window_min=wait, kinds=FINDING_KINDS,
                accuracy_alpha=deps.settings.verify_accuracy_alpha)
    firing = sorted({f.kind for f in post.findings})
    still = [k for k in firing if k in original]
    new = [k for k in firing if k not in original]
    judged = [k for k in original if post.checked.get(k)]
    recovered = not firing and bool(judged)
    partial = not recovered and _scaling_helped(state, post.findings)
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
        text = "improved but not recovered: " + "; ".join(f.summary for f in post.findings) + "; scaling further"
    elif not judged and not firing:
        text = f"not enough post-fix data after {wait:.0f} min to judge {', '.join(original)}"
    else:
        text = "not recovered: " + "; ".join(f.summary for f in post.findings)
    return {"verification": verification, "timeline": [event("verify", text)]}
