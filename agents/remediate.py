"""Remediate agent: turns the current hypothesis into concrete actions from the catalogue."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from agents.common import event, parse_time, service_info
from agents.deps import AgentDeps
from agents.state import Hypothesis, IncidentState, PlanStep
from memory.models import ActionRow
from policies import audit
from tools.actions import PlannedAction
from tools.scaling import replicas_for_utilization
from tools.observations import MetricSource, ServiceInfo

TARGET_UTILIZATION = 0.5
SCALE_LOOKBACK_MIN = 20
RETRAIN_MIN_LABELS = 600
RETRAIN_MIN_WINDOW = 30
RETRAIN_MAX_WAIT_MIN = 240.0
LABEL_POLL_MIN = 15.0
EXPECTED_EFFECT = {
    "restart_pipeline": "null rate back to the reference rate",
    "rollback_model": "prediction distribution and accuracy back to the previous version's",
    "retrain_model": "accuracy on recent labelled data back near the reference",
    "scale_up": f"utilisation near {TARGET_UTILIZATION:.0%}, p95 latency under the SLO",
    "escalate": "a human takes over",
}


def action_params(name: str, info: ServiceInfo, source: MetricSource, state: IncidentState,
                  tool_results: list[dict[str, Any]]) -> dict[str, Any]:
    """Parameters for one action, from the platform's facts and tool calls (cited in ``tool_results``)."""
    if name == "scale_up":
        # Size for the busiest recent tick: a single tick's reading is noisy and traffic keeps moving.
        window = source.window(info.name, SCALE_LOOKBACK_MIN)
        recent = window.metrics.get("utilization", [])
        utilization = float(max(recent)) if len(recent) else 1.0
        result = replicas_for_utilization(utilization=utilization, replicas=info.replicas,
                                          target_utilization=TARGET_UTILIZATION, max_replicas=info.max_replicas)
        tool_results.append(result.model_dump(mode="json"))
        return {"replicas": int(result.figure("replicas_needed"))}
    if name == "rollback_model":
        versions = info.model_versions
        live = versions.index(info.model_version) if info.model_version in versions else len(versions)
        return {"to_version": versions[live - 1]} if live >= 1 else {}
    if name == "retrain_model":
        window_min = wait_for_labels(source, info.name, since=parse_time(state["observed_at"]))
        return {"window_min": window_min, "reference_min": min(window_min, 60)}
    return {}


def wait_for_labels(source: MetricSource, service: str, *, since: datetime) -> int:
    """Let time pass until enough labels of post-shift traffic have matured; return the window to train on.

    Retraining on a window that is mostly pre-shift data teaches the model the old regime again,
    so the window starts at the first signal and the retrain waits for its labels.
    """
    waited = 0.0
    while True:
        window_min = max(RETRAIN_MIN_WINDOW, math.ceil((source.now() - since).total_seconds() / 60.0))
        labelled = len(source.window(service, window_min).labels)
        if labelled >= RETRAIN_MIN_LABELS or waited >= RETRAIN_MAX_WAIT_MIN:
            return int(window_min)
        source.wait(LABEL_POLL_MIN)
        waited += LABEL_POLL_MIN


def remediate_node(state: IncidentState, deps: AgentDeps) -> dict[str, Any]:
    """Plan the actions of the hypothesis at ``hypothesis_index``; an empty plan means escalate."""
    hypotheses = [Hypothesis(**h) for h in state["diagnosis"]["hypotheses"]]
    index = state.get("hypothesis_index", 0)
    if index >= len(hypotheses):
        return {"plan": [], "status": "escalated",
                "timeline": [event("remediate", "no untried hypothesis left: escalating to a human")]}
    hypothesis = hypotheses[index]
    source, platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    supported = set(platform.supported_actions()) | {"escalate"}
    tool_results: list[dict[str, Any]] = []
    steps = []
    for name in hypothesis.actions:
        if name not in supported:
            continue
        action = PlannedAction(name=name, service=info.name,
                               params=action_params(name, info, source, state, tool_results),
                               rationale=f"{hypothesis.cause} in {hypothesis.component} "
                                         f"(score {hypothesis.score:.2f}; evidence {', '.join(hypothesis.evidence)})",
                               expected_effect=EXPECTED_EFFECT.get(name, ""), hypothesis_id=hypothesis.id)
        steps.append(PlanStep(action=action.model_dump(mode="json")))
    store = deps.store
    if tool_results:
        from agents.common import save_tool_calls
        save_tool_calls(store, state["incident_id"], tool_results)
    now = source.now()
    store.add(*[ActionRow(id=s.action["action_id"], incident_id=state["incident_id"], name=s.action["name"],
                          service=s.action["service"], params=s.action["params"],
                          params_hash=s.action["params_hash"], status="planned",
                          rationale=s.action["rationale"], planned_at=now) for s in steps])
    for s in steps:
        audit.append(store, actor=deps.actor, kind="action.planned", incident_id=state["incident_id"],
                     subject=s.action["name"], payload={"action_id": s.action["action_id"],
                                                        "params": s.action["params"],
                                                        "params_hash": s.action["params_hash"]})
    rounds = state.get("rounds", 0) + 1 if state.get("verification", {}).get("partial") else 0
    text = ", ".join(f"{s.action['name']}({', '.join(f'{k}={v}' for k, v in s.action['params'].items())})"
                     for s in steps) or "nothing the platform supports"
    return {"plan": [s.model_dump(mode="json") for s in steps], "status": "open", "rounds": rounds,
            "verification": {}, "timeline": [event("plan", f"{text} for '{hypothesis.cause}'")]}
