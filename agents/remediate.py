"""Remediate agent: turns the current hypothesis into concrete actions from the catalogue."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from agents.common import event, parse_time, save_tool_calls, service_info
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
    "restart_pipeline": "null rates and feature units back to the reference",
    "switch_feature_store": "features read from a healthy store: null rate back to the reference rate",
    "shift_traffic": "requests served by the standby deployment: error rate back under the SLO",
    "quarantine_feedback": "clean labels and calibration: score distribution back to the reference",
    "pin_prompt_version": "responses from the known-good prompt: outputs back to the reference mix",
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
        # Back to what served before the release that preceded the signal, else the previous version.
        deploy = _latest_event(source, info.name, ("deploy",), state)
        if deploy is not None and deploy.detail.get("to") == info.model_version \
                and deploy.detail.get("from") in info.model_versions:
            return {"to_version": str(deploy.detail["from"])}
        versions = info.model_versions
        live = versions.index(info.model_version) if info.model_version in versions else len(versions)
        return {"to_version": versions[live - 1]} if live >= 1 else {}
    if name == "pin_prompt_version":
        release = _latest_event(source, info.name, ("prompt_deploy",), state)
        return {"version": str(release.detail["from"])} if release is not None and release.detail.get("from") else {}
    if name == "shift_traffic":
        return {"share": 1.0}
    if name == "retrain_model":
        window_min = wait_for_labels(source, info.name, since=parse_time(state["observed_at"]))
        return {"window_min": window_min, "reference_min": min(window_min, 60)}
    return {}


def _latest_event(source: MetricSource, service: str, kinds: tuple[str, ...], state: IncidentState) -> Any:
    """The latest platform event of ``kinds`` on the service up to the first signal (within the deploy lookback)."""
    first = parse_time(state["observed_at"])
    events = [e for e in source.events(service, first - timedelta(minutes=240)) if e.kind in kinds and e.at <= first
              + timedelta(minutes=1)]
    return max(events, key=lambda e: e.at) if events else None


def target_service(hypothesis: Hypothesis, source: MetricSource, incident_service: str) -> str:
    """The service an action acts on: the one the root-cause component belongs to, else the incident's service.

    A cause upstream (``fraud-api.serving`` for a gateway incident) is fixed where it is; a
    component that is not a service (a feature store) is worked around from the incident's service.
    """
    owner = hypothesis.component.rsplit(".", 1)[0]
    return owner if owner in {s.name for s in source.services()} else incident_service


def action_targets(name: str, hypothesis: Hypothesis, source: MetricSource, info: ServiceInfo) -> list[ServiceInfo]:
    """The services one action of the plan runs on: the target, or every reader of a failing feature store."""

    if name == "switch_feature_store" and hypothesis.component.endswith(".store"):
        store = hypothesis.component.rsplit(".", 1)[0]
        readers = [s for s in source.services() if s.feature_store == store]
        if readers:
            return sorted(readers, key=lambda s: s.name != info.name)  # the incident's own service first
    return [info]


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
    info = service_info(source, target_service(hypothesis, source, state["service"]))
    supported = set(platform.supported_actions()) | {"escalate"}
    tool_results: list[dict[str, Any]] = []
    steps = []
    for name in hypothesis.actions:
        if name not in supported:
            continue
        for target in action_targets(name, hypothesis, source, info):
            params = action_params(name, target, source, state, tool_results)
            action = PlannedAction(name=name, service=target.name, params=params,
                                   rationale=f"{hypothesis.cause} in {hypothesis.component} (score "
                                             f"{hypothesis.score:.2f}; evidence {', '.join(hypothesis.evidence)})",
                                   expected_effect=EXPECTED_EFFECT.get(name, ""), hypothesis_id=hypothesis.id)
            steps.append(PlanStep(action=action.model_dump(mode="json")))
    store = deps.store
    if tool_results:
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
                     + ("" if s.action["service"] == state["service"] else f" on {s.action['service']}")
                     for s in steps) or "nothing the platform supports"
    return {"plan": [s.model_dump(mode="json") for s in steps], "status": "open", "rounds": rounds,
            "verification": {}, "timeline": [event("plan", f"{text} for '{hypothesis.cause}'")]}
