"""Diagnose agent: ranks root-cause hypotheses by layer and component from findings, events and memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agents.state import Diagnosis, Finding, Hypothesis
from tools.observations import PlatformEvent, ServiceInfo


@dataclass(frozen=True)
class CauseRule:
    """A root cause, the signals that point to it and those that argue against it."""

    cause: str
    layer: str
    component: str  # suffix after the service name
    actions: tuple[str, ...]
    requires_any: tuple[str, ...]
    supports: dict[str, float]
    contradicts: dict[str, float]
    base: float
    needs_deploy: bool = False
    excludes_deploy: bool = False


# Ordered from specific to generic; a cause with its required signal absent is not a hypothesis at all.
CAUSE_RULES: tuple[CauseRule, ...] = (
    CauseRule("feature pipeline emitting nulls", "data", "pipeline", ("restart_pipeline",),
              requires_any=("null_rate",), supports={"performance_drop": 0.05, "prediction_drift": 0.03},
              contradicts={}, base=0.9),
    CauseRule("bad model version deployed", "model", "model", ("rollback_model",),
              requires_any=("prediction_drift", "performance_drop"),
              supports={"prediction_drift": 0.05, "performance_drop": 0.05},
              contradicts={"feature_drift": 0.25, "null_rate": 0.4}, base=0.82, needs_deploy=True),
    CauseRule("serving saturation (GPU/CPU queueing)", "infrastructure", "serving", ("scale_up",),
              requires_any=("latency_slo",), supports={"error_rate": 0.03},
              contradicts={}, base=0.85),
    CauseRule("input data drift", "data", "features", ("retrain_model",),
              requires_any=("feature_drift",), supports={"performance_drop": 0.08, "prediction_drift": 0.04},
              contradicts={"null_rate": 0.3}, base=0.78),
    CauseRule("model decay / concept drift", "model", "model", ("retrain_model",),
              requires_any=("performance_drop", "prediction_drift"), supports={"performance_drop": 0.1},
              contradicts={"feature_drift": 0.2, "null_rate": 0.4}, base=0.5, excludes_deploy=True),
    CauseRule("application errors", "application", "api", ("escalate",),
              requires_any=("error_rate",), supports={}, contradicts={"latency_slo": 0.2}, base=0.5),
)


def recent_deploy(events: Sequence[PlatformEvent], first_signal: datetime, lookback_min: float) -> PlatformEvent | None:
    """The latest deploy in the lookback before (or at) the first signal."""
    deploys = [e for e in events if e.kind == "deploy"
               and first_signal - timedelta(minutes=lookback_min) <= e.at <= first_signal + timedelta(minutes=1)]
    return max(deploys, key=lambda e: e.at) if deploys else None


def rank(findings: Sequence[Finding], info: ServiceInfo, events: Sequence[PlatformEvent],
         *, first_signal: datetime, lookback_min: float) -> list[Hypothesis]:
    """Score every cause rule against the findings; best first."""
    kinds = {f.kind for f in findings}
    evidence = {f.kind: f.tool_call_id for f in findings}
    deploy = recent_deploy(events, first_signal, lookback_min)
    hypotheses = []
    for rule in CAUSE_RULES:
        if not kinds.intersection(rule.requires_any):
            continue
        if rule.needs_deploy and deploy is None:
            continue
        if rule.excludes_deploy and deploy is not None:
            continue
        score = rule.base + sum(w for k, w in rule.supports.items() if k in kinds)
        score -= sum(w for k, w in rule.contradicts.items() if k in kinds)
        cited = [evidence[k] for k in (*rule.requires_any, *rule.supports) if k in evidence]
        explanation = "signals: " + ", ".join(sorted(k for k in kinds if k in (*rule.requires_any, *rule.supports)))
        if rule.needs_deploy and deploy is not None:
            explanation += (f"; deploy {deploy.detail.get('from', '?')} -> {deploy.detail.get('to', '?')} "
                            f"at {deploy.at.isoformat()} preceded the first signal")
        against = sorted(k for k in kinds if k in rule.contradicts)
        if against:
            explanation += f"; against: {', '.join(against)}"
        hypotheses.append(Hypothesis(layer=rule.layer, component=f"{info.name}.{rule.component}",  # type: ignore[arg-type]
                                     cause=rule.cause, score=round(max(0.0, min(1.0, score)), 3),
                                     evidence=sorted(set(cited)), actions=list(rule.actions),
                                     explanation=explanation))
    hypotheses.sort(key=lambda h: h.score, reverse=True)
    return hypotheses


def apply_memory(hypotheses: list[Hypothesis], similar: Sequence[dict[str, Any]]) -> tuple[list[Hypothesis], str]:
    """Nudge hypotheses that match resolved similar incidents; say which incidents were used."""
    if not similar:
        return hypotheses, ""
    notes = []
    boosted = []
    for hyp in hypotheses:
        same = [s for s in similar if s.get("root_cause") == hyp.cause and s.get("layer") == hyp.layer]
        support = [s for s in same if s.get("outcome") == "resolved"]
        failed = [s for s in same if s.get("outcome") in ("made_worse", "undone")]
        delta = 0.04 * len(support) - 0.04 * len(failed)
        if support:
            notes.append(f"{hyp.cause}: resolved before in {', '.join(s['incident_id'] for s in support)}")
        if failed:
            notes.append(f"{hyp.cause}: fix failed before in {', '.join(s['incident_id'] for s in failed)}")
        boosted.append(hyp.model_copy(update={"score": round(max(0.0, min(1.0, hyp.score + max(-0.12, min(0.12, delta)))), 3)}))
    boosted.sort(key=lambda h: h.score, reverse=True)
    return boosted, "; ".join(notes)


def diagnose(findings: Sequence[Finding], info: ServiceInfo, events: Sequence[PlatformEvent], *,
             first_signal: datetime, lookback_min: float, similar: Sequence[dict[str, Any]] = ()) -> Diagnosis:
    """Ranked hypotheses with a confidence: the top score, discounted when the runner-up is close."""
    hypotheses = rank(findings, info, events, first_signal=first_signal, lookback_min=lookback_min)
    hypotheses, note = apply_memory(hypotheses, similar)
    if not hypotheses:
        return Diagnosis(hypotheses=[], confidence=0.0, similar_incidents=list(similar), memory_note=note)
    top = hypotheses[0].score
    runner_up = hypotheses[1].score if len(hypotheses) > 1 else 0.0
    confidence = round(top * (1.0 - 0.5 * max(0.0, runner_up / top - 0.5)) if top else 0.0, 3)
    return Diagnosis(hypotheses=hypotheses, confidence=confidence, similar_incidents=list(similar), memory_note=note)


def _similar_from_memory(deps: Any, text: str, incident_id: str) -> list[dict[str, Any]]:
    """Similar closed incidents from vector memory, as plain dicts (empty without memory)."""
    if deps.memory is None:
        return []
    return [s.model_dump(mode="json") for s in deps.memory.similar(text, k=5, exclude_id=incident_id)]


def diagnose_node(state: Any, deps: Any) -> dict[str, Any]:
    """Rank hypotheses for the incident, record the diagnosis and audit it."""
    from agents.common import event, parse_time, service_info
    from policies import audit

    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    findings = [Finding(**f) for f in state["findings"]]
    first_signal = parse_time(state["observed_at"])
    lookback = deps.settings.deploy_lookback_min
    events = source.events(info.name, first_signal - timedelta(minutes=lookback))
    symptoms = symptom_text(info, findings)
    similar = _similar_from_memory(deps, symptoms, state["incident_id"])
    result = diagnose(findings, info, events, first_signal=first_signal, lookback_min=lookback, similar=similar)
    top = result.hypotheses[0] if result.hypotheses else None
    deps.store.update_incident(state["incident_id"], layer=top.layer if top else None,
                               root_cause=top.component if top else None, confidence=result.confidence,
                               diagnosis=result.model_dump(mode="json"))
    audit.append(deps.store, actor=deps.actor, kind="diagnosis", incident_id=state["incident_id"],
                 subject=top.component if top else "unknown",
                 payload={"hypotheses": [h.model_dump(mode="json") for h in result.hypotheses],
                          "confidence": result.confidence, "memory": result.memory_note})
    text = (f"{top.layer} layer, {top.component}: {top.cause} (score {top.score:.2f}, "
            f"evidence {', '.join(top.evidence)})" if top else "no hypothesis fits the findings")
    if result.memory_note:
        text += f"; memory: {result.memory_note}"
    return {"diagnosis": result.model_dump(mode="json"), "hypothesis_index": 0,
            "timeline": [event("diagnose", text)]}


def symptom_text(info: ServiceInfo, findings: Sequence[Finding]) -> str:
    """A description of the symptoms for similarity search (no numbers needed)."""
    kinds = sorted({f.kind for f in findings})
    layers = sorted({f.layer for f in findings})
    return f"service kind {info.kind}; signals {' '.join(kinds)}; layers {' '.join(layers)}"
