"""Diagnose agent: investigates the findings with more tool calls, then ranks root-cause hypotheses by layer and component.

How it reasons, as an on-call SRE would:

1. *Investigate* (``investigate``): each symptom prompts the questions that separate its causes, each
   answered by a tool call that the evidence cites. Slow requests: did the request rate jump
   (``traffic_surge``) or did each request get more expensive (``capacity_loss``)? Nulls: do other
   readers of the same feature store get nulls too (``shared_store_nulls``)? Input drift: did a
   feature's spread change by an order of magnitude, i.e. its units or type (``unit_change``)?
   Accuracy drop: did the base rate of the labels move away from the scores (``label_shift``), or is
   the drop confined to one segment (``segment_gap``)? Output drift: did the scores grow
   over-confident, or the labels start agreeing with the model (``feedback_echo``)? For a generative
   service, did its answers change in meaning, length, refusals or repetition (``semantic_drift``)?
2. *Look at changes*: a model ``deploy`` or a ``prompt_deploy`` shortly before the first signal.
3. *Look upstream*: when a dependency (``ServiceInfo.depends_on``) shows the same symptom (errors,
   latency) and nothing local explains it, the root cause is the dependency's own diagnosis.
4. *Rank* (``rank``): every cause rule scores the signals for and against it; specific causes
   outrank generic ones, and the remediation comes with the cause.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from agents.deps import MonitorSettings
from agents.recall import recall
from agents.state import Diagnosis, Finding, Hypothesis
from tools.actions import PlatformError
from tools.data_quality import null_rates
from tools.fairness import categorical_columns, segment_performance
from tools.labels import feedback_echo, label_shift
from tools.observations import (
    MetricSource,
    OutputSource,
    PlatformEvent,
    ServiceInfo,
    ServiceWindow,
)
from tools.results import ToolResult
from tools.rootcause import change_events, level_shift, scale_change
from tools.semantic_drift import semantic_drift

MAX_UPSTREAM_DEPTH = 3


@dataclass(frozen=True)
class CauseRule:
    """A root cause, the signals that point to it and those that argue against it.

    ``component`` is a template: ``{service}`` is the service, ``{store}`` the feature store it reads
    (a rule whose template names something unknown is not a hypothesis). ``requires_all`` must all
    be present and at least one of ``requires_any``; ``needs_event`` / ``excludes_event`` name
    platform event kinds that must (not) precede the first signal within the lookback.
    """

    cause: str
    layer: str
    component: str
    actions: tuple[str, ...]
    requires_any: tuple[str, ...]
    supports: dict[str, float]
    contradicts: dict[str, float]
    base: float
    requires_all: tuple[str, ...] = ()
    needs_event: tuple[str, ...] = ()
    excludes_event: tuple[str, ...] = ()


# Specific causes carry higher base scores than the generic ones that the same symptom also fits.
CAUSE_RULES: tuple[CauseRule, ...] = (
    # --- data layer: what reaches the model -------------------------------------------------------------------------
    CauseRule("feature store outage: every reader gets nulls", "data", "{store}.store", ("switch_feature_store",),
              requires_any=("null_rate",), supports={"shared_store_nulls": 0.38}, contradicts={}, base=0.55),
    CauseRule("feature pipeline emitting nulls", "data", "{service}.pipeline", ("restart_pipeline",),
              requires_any=("null_rate",), supports={"performance_drop": 0.05, "prediction_drift": 0.03},
              contradicts={"shared_store_nulls": 0.3}, base=0.88),
    CauseRule("schema change upstream: a feature arrives in other units or type", "data", "{service}.pipeline",
              ("restart_pipeline",), requires_any=("feature_drift",), requires_all=("unit_change",),
              supports={"prediction_drift": 0.02, "performance_drop": 0.02}, contradicts={"null_rate": 0.2}, base=0.92),
    CauseRule("input data drift", "data", "{service}.features", ("retrain_model",),
              requires_any=("feature_drift",), supports={"performance_drop": 0.08, "prediction_drift": 0.04},
              contradicts={"null_rate": 0.3, "unit_change": 0.3}, base=0.78),
    CauseRule("label (prior) shift: the base rate moved, the inputs did not", "data", "{service}.labels",
              ("retrain_model",), requires_any=("performance_drop",), requires_all=("label_shift",),
              supports={}, contradicts={"feature_drift": 0.2, "null_rate": 0.3}, base=0.88),
    CauseRule("drift confined to one segment (fairness)", "data", "{service}.segment", ("retrain_model",),
              requires_any=("performance_drop",), requires_all=("segment_gap",), supports={},
              contradicts={"feature_drift": 0.2, "null_rate": 0.3, "label_shift": 0.1}, base=0.86),
    CauseRule("feedback loop: the model's own outputs leak into its labels", "data", "{service}.feedback",
              ("quarantine_feedback",), requires_any=("prediction_drift",), supports={"feedback_echo": 0.33},
              contradicts={"feature_drift": 0.3, "null_rate": 0.3}, base=0.55, excludes_event=("deploy",)),
    # --- model layer ------------------------------------------------------------------------------------------------
    CauseRule("bad model version deployed", "model", "{service}.model", ("rollback_model",),
              requires_any=("prediction_drift", "performance_drop"),
              supports={"prediction_drift": 0.05, "performance_drop": 0.05},
              contradicts={"feature_drift": 0.25, "null_rate": 0.4, "memory_pressure": 0.3}, base=0.82,
              needs_event=("deploy",)),
    CauseRule("model decay / concept drift", "model", "{service}.model", ("retrain_model",),
              requires_any=("performance_drop", "prediction_drift"), supports={"performance_drop": 0.1},
              contradicts={"feature_drift": 0.2, "null_rate": 0.4, "label_shift": 0.3, "segment_gap": 0.3,
                           "feedback_echo": 0.3},
              base=0.5, excludes_event=("deploy",)),
    # --- application layer ------------------------------------------------------------------------------------------
    CauseRule("prompt regression after a prompt release", "application", "{service}.prompt", ("pin_prompt_version",),
              requires_any=("feature_drift", "prediction_drift", "performance_drop"), supports={"semantic_drift": 0.05},
              contradicts={"null_rate": 0.3}, base=0.9, needs_event=("prompt_deploy",)),
    CauseRule("memory leak in the new serving build", "application", "{service}.serving", ("rollback_model",),
              requires_any=("memory_pressure",), supports={"error_rate": 0.04}, contradicts={}, base=0.9,
              needs_event=("deploy",)),
    CauseRule("memory leak with no recent release", "application", "{service}.serving", ("escalate",),
              requires_any=("memory_pressure",), supports={}, contradicts={}, base=0.6, excludes_event=("deploy",)),
    CauseRule("application errors", "application", "{service}.api", ("escalate",),
              requires_any=("error_rate",), supports={}, contradicts={"latency_slo": 0.2}, base=0.45),
    # --- infrastructure layer ---------------------------------------------------------------------------------------
    CauseRule("traffic surge beyond provisioned capacity", "infrastructure", "{service}.traffic", ("scale_up",),
              requires_any=("latency_slo", "error_rate"), requires_all=("traffic_surge",),
              supports={"latency_slo": 0.02}, contradicts={"capacity_loss": 0.35}, base=0.9),
    CauseRule("serving saturation (GPU/CPU queueing)", "infrastructure", "{service}.serving", ("scale_up",),
              requires_any=("latency_slo",), supports={"capacity_loss": 0.12, "error_rate": 0.02},
              contradicts={"traffic_surge": 0.2}, base=0.8),
    CauseRule("primary deployment failing requests (outage)", "infrastructure", "{service}.serving", ("shift_traffic",),
              requires_any=("error_rate",), supports={},
              contradicts={"latency_slo": 0.4, "memory_pressure": 0.4, "traffic_surge": 0.3}, base=0.8),
)

UPSTREAM_SYMPTOMS = ("error_rate", "latency_slo")
"""Symptoms that propagate from a dependency to the services calling it."""

LOCAL_CAUSES = ("capacity_loss", "traffic_surge", "memory_pressure")
"""Evidence that a propagating symptom has a cause in the service itself."""


def recent_event(events: Sequence[PlatformEvent], kinds: Sequence[str], first_signal: datetime,
                 lookback_min: float) -> PlatformEvent | None:
    """The latest event of one of ``kinds`` in the lookback before (or at) the first signal."""
    hits = [e for e in events if e.kind in kinds
            and first_signal - timedelta(minutes=lookback_min) <= e.at <= first_signal + timedelta(minutes=1)]
    return max(hits, key=lambda e: e.at) if hits else None


def recent_deploy(events: Sequence[PlatformEvent], first_signal: datetime, lookback_min: float) -> PlatformEvent | None:
    """The latest deploy in the lookback before (or at) the first signal."""
    return recent_event(events, ("deploy",), first_signal, lookback_min)


def _component(template: str, context: dict[str, Any]) -> str | None:
    try:
        return template.format(**context)
    except KeyError:
        return None


def rank(findings: Sequence[Finding], info: ServiceInfo, events: Sequence[PlatformEvent],
         *, first_signal: datetime, lookback_min: float, context: dict[str, Any] | None = None) -> list[Hypothesis]:
    """Score every cause rule against the findings (symptoms and evidence); best first.

    ``context`` fills component templates: ``store`` is the feature store the service reads.
    """
    from agents.monitor import symptom_kinds

    fill = {"service": info.name, **{k: v for k, v in (context or {}).items() if v}}
    kinds = symptom_kinds(findings)
    evidence = {}
    for f in findings:
        evidence.setdefault(f.kind, f.tool_call_id)
    early = kinds - {f.kind for f in findings}  # symptoms only foreshadowed by a metric anomaly
    for kind in early:
        evidence[kind] = evidence["metric_anomaly"]
    hypotheses = []
    for rule in CAUSE_RULES:
        if not kinds.intersection(rule.requires_any) or not kinds.issuperset(rule.requires_all):
            continue
        event = recent_event(events, rule.needs_event, first_signal, lookback_min) if rule.needs_event else None
        if rule.needs_event and event is None:
            continue
        if rule.excludes_event and recent_event(events, rule.excludes_event, first_signal, lookback_min) is not None:
            continue
        component = _component(rule.component, fill)
        if component is None:
            continue
        score = rule.base + sum(w for k, w in rule.supports.items() if k in kinds)
        score -= sum(w for k, w in rule.contradicts.items() if k in kinds)
        used = (*rule.requires_any, *rule.requires_all, *rule.supports)
        cited = [evidence[k] for k in used if k in evidence]
        explanation = "signals: " + ", ".join(f"{k} (early: metric anomaly)" if k in early else k
                                             for k in sorted(k for k in kinds if k in used))
        if event is not None:
            explanation += (f"; {event.kind} {event.detail.get('from', '?')} -> {event.detail.get('to', '?')} "
                            f"at {event.at.isoformat()} preceded the first signal")
        against = sorted(k for k in kinds if k in rule.contradicts)
        if against:
            explanation += f"; against: {', '.join(against)}"
        hypotheses.append(Hypothesis(layer=rule.layer, component=component,  # type: ignore[arg-type]
                                     cause=rule.cause, score=round(max(0.0, min(1.0, score)), 3),
                                     evidence=sorted(set(cited)), actions=list(rule.actions),
                                     explanation=explanation))
    hypotheses.sort(key=lambda h: h.score, reverse=True)
    return hypotheses


def diagnose(findings: Sequence[Finding], info: ServiceInfo, events: Sequence[PlatformEvent], *,
             first_signal: datetime, lookback_min: float, similar: Sequence[dict[str, Any]] = (),
             context: dict[str, Any] | None = None, extra: Sequence[Hypothesis] = ()) -> Diagnosis:
    """Ranked hypotheses with a confidence: the top score, discounted when the runner-up is close.

    ``extra`` are hypotheses found elsewhere (a dependency's diagnosis) ranked with the local ones.
    """
    hypotheses = rank(findings, info, events, first_signal=first_signal, lookback_min=lookback_min, context=context)
    hypotheses = sorted([*extra, *hypotheses], key=lambda h: h.score, reverse=True)
    hypotheses = _dedupe(hypotheses)
    hypotheses, note = recall(hypotheses, similar)
    if not hypotheses:
        return Diagnosis(hypotheses=[], confidence=0.0, similar_incidents=list(similar), memory_note=note)
    top = hypotheses[0].score
    runner_up = hypotheses[1].score if len(hypotheses) > 1 else 0.0
    confidence = round(top * (1.0 - 0.5 * max(0.0, runner_up / top - 0.5)) if top else 0.0, 3)
    return Diagnosis(hypotheses=hypotheses, confidence=confidence, similar_incidents=list(similar), memory_note=note)


def _dedupe(hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    """Keep the best-scored hypothesis per (component, actions): trying the same fix twice teaches nothing."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for h in hypotheses:
        key = (h.component, tuple(h.actions))
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


# --------------------------------------------------------------------------------------------------- investigation


@dataclass
class Investigation:
    """Evidence gathered for one service: findings-like signals, every tool call made, and context."""

    evidence: list[Finding] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    upstream: list[Hypothesis] = field(default_factory=list)


def labelled_features(window: ServiceWindow) -> np.ndarray | None:
    """Feature rows of the window's labelled requests, when the source lets them be matched.

    A source may hand them over (``labelled_features``); otherwise labels mature in request
    order, so they belong to the oldest rows, which is checked against the predictions.
    """
    given = getattr(window, "labelled_features", None)
    if given is not None:
        return np.asarray(given, dtype=float)
    m = len(window.labels)
    if m == 0 or m > len(window.predictions):
        return None
    if np.array_equal(window.predictions[:m], window.labelled_predictions):
        return window.features[:m]
    return None


def _series(window: ServiceWindow, name: str) -> np.ndarray | None:
    values = window.metrics.get(name)
    return None if values is None or len(values) == 0 else np.asarray(values, dtype=float)


def investigate(source: MetricSource, info: ServiceInfo, findings: Sequence[Finding], settings: MonitorSettings,
                *, depth: int = 0, visited: frozenset[str] = frozenset()) -> Investigation:
    """Ask the tools the questions that tell the causes of these symptoms apart."""
    from agents.monitor import symptom_kinds, tick_minutes

    out = Investigation()
    kinds = symptom_kinds(findings)
    observed_at = source.now().isoformat()
    store = info.feature_store
    out.context["store"] = store

    def add(kind: str, layer: str, result: ToolResult, summary: str) -> None:
        if kind in settings.disabled_probes:
            return
        out.evidence.append(Finding(service=info.name, kind=kind, layer=layer, severity="info",  # type: ignore[arg-type]
                                    summary=summary, tool_call_id=result.tool_call_id, tool=result.tool,
                                    figures=dict(result.figures), observed_at=observed_at))

    if kinds & {"latency_slo", "error_rate"}:
        window = source.window(info.name, settings.baseline_min + settings.recent_min)
        recent = max(1, math.ceil(settings.recent_min / tick_minutes(window)))
        rps, util = _series(window, "rps"), _series(window, "utilization")
        if rps is not None:
            surge = level_shift(rps, recent=recent, ratio=settings.surge_ratio)
            out.results.append(surge)
            if surge.ok and surge.figure("shifted") and surge.figure("direction") == "up":
                add("traffic_surge", "infrastructure", surge,
                    f"request rate {surge.cite('recent_mean', '{:.0f}')} rps is {surge.cite('ratio', '{:.1f}')}x "
                    f"its recent median")
            if util is not None and len(util) == len(rps):
                replicas = _series(window, "replicas")
                scale = replicas if replicas is not None and len(replicas) == len(rps) else np.ones_like(rps)
                with np.errstate(divide="ignore", invalid="ignore"):
                    cost = np.where(rps > 0, util * scale / rps, np.nan)
                per_request = level_shift(cost, recent=recent, ratio=settings.capacity_ratio)
                out.results.append(per_request)
                if per_request.ok and per_request.figure("shifted") and per_request.figure("direction") == "up":
                    add("capacity_loss", "infrastructure", per_request,
                        f"work per request (utilisation x replicas / rate) is {per_request.cite('ratio', '{:.1f}')}x "
                        "its recent median: each replica serves less")

    if "null_rate" in kinds and store:
        since = source.now() - timedelta(minutes=settings.deploy_lookback_min)
        for peer in source.services():
            if peer.name == info.name:
                continue
            if peer.feature_store != store:
                moved = change_events([e for e in source.events(peer.name, since) if "undo_of" not in e.detail],
                                      kinds=("store_switch",), start=since, end=source.now(), match={"from": store})
                out.results.append(moved)
                if moved.figure("count"):
                    add("shared_store_nulls", "data", moved,
                        f"{peer.name}, another reader of feature store {store}, switched away from it "
                        f"{moved.cite('minutes_before_end', '{:.0f}')} min ago")
                    break
                continue
            window = source.window(peer.name, settings.window_min)
            peer_ref = source.reference(peer.name)
            result = null_rates(window.features, window.feature_names, reference=peer_ref.features,
                                threshold=settings.null_threshold)
            out.results.append(result)
            if result.ok and result.figure("columns_with_nulls"):
                add("shared_store_nulls", "data", result,
                    f"{peer.name}, another reader of feature store {store}, also gets nulls: max null rate "
                    f"{result.cite('max_null_rate', '{:.1%}')}")
                break

    reference = None
    if "feature_drift" in kinds:
        reference = source.reference(info.name)
        # A unit or type change is a step, not a ramp: the latest minutes show it undiluted by older rows.
        window = source.window(info.name, settings.recent_min)
        if len(window.features) < 60:
            window = source.window(info.name, settings.window_min)
        result = scale_change(reference.features, window.features, feature_names=window.feature_names,
                              factor=settings.unit_factor)
        out.results.append(result)
        drifted = set()
        for f in findings:
            if f.kind == "feature_drift":
                drifted |= set(f.figures.get("drifted_both") or f.figures.get("drifted") or [])
        rescaled = [c for c in result.figure("rescaled") or [] if not drifted or c in drifted]
        if result.ok and rescaled:
            add("unit_change", "data", result,
                f"{', '.join(rescaled)} changed spread by {result.cite('max_ratio', '{:.3g}')}x: a unit or type "
                "change, not a shift of the population")

    if "performance_drop" in kinds:
        reference = reference or source.reference(info.name)
        recent_labels = source.window(info.name, settings.label_window_min / 2)
        shift = label_shift(reference.labels, recent_labels.labels, recent_labels.labelled_predictions,
                            min_labels=settings.min_labels, min_shift=settings.label_shift_min)
        out.results.append(shift)
        if shift.ok and shift.figure("shifted"):
            add("label_shift", "data", shift,
                f"positive-label rate moved from {shift.cite('reference_positive_rate', '{:.1%}')} to "
                f"{shift.cite('current_positive_rate', '{:.1%}')} while the mean score stayed at "
                f"{shift.cite('mean_score', '{:.1%}')}")
        labelled = source.window(info.name, settings.label_window_min)
        rows = labelled_features(labelled)
        if rows is not None:
            names = labelled.feature_names
            for j in categorical_columns(reference.features):
                result = segment_performance(reference.features[:, j], reference.labels, reference.predictions,
                                             rows[:, j], labelled.labels, labelled.labelled_predictions,
                                             min_drop=settings.segment_drop_min)
                out.results.append(result)
                if result.ok and result.figure("concentrated"):
                    add("segment_gap", "data", result,
                        f"accuracy fell by {result.cite('worst_drop', '{:.1%}')} in segment {names[j]}="
                        f"{result.figure('worst_segment')} but by {result.cite('rest_drop', '{:.1%}')} elsewhere")
                    break

    if "prediction_drift" in kinds:
        reference = reference or source.reference(info.name)
        window = source.window(info.name, settings.window_min)
        labelled = source.window(info.name, settings.label_window_min / 2)
        result = feedback_echo(reference.labels, reference.predictions, window.predictions, labelled.labels,
                               labelled.labelled_predictions, min_labels=settings.min_labels,
                               min_gain=settings.sharpness_gain_min)
        out.results.append(result)
        if result.ok and result.figure("echo"):
            add("feedback_echo", "data", result,
                f"scores grew over-confident (sharpness {result.cite('reference_sharpness', '{:.2f}')} -> "
                f"{result.cite('current_sharpness', '{:.2f}')}); label agreement "
                f"{result.cite('current_agreement', '{:.1%}')}")

    if kinds & {"feature_drift", "prediction_drift", "performance_drop"} and isinstance(source, OutputSource):
        _semantic_probe(source, info, settings, out, add)

    if depth < MAX_UPSTREAM_DEPTH and kinds & set(UPSTREAM_SYMPTOMS):
        own = {e.kind for e in out.evidence} | kinds
        out.upstream = _upstream(source, info, own, settings, depth=depth, visited=visited | {info.name},
                                 results=out.results)
    return out


def _semantic_probe(source: OutputSource, info: ServiceInfo, settings: MonitorSettings, out: Investigation,
                    add: Callable[[str, str, ToolResult, str], None]) -> None:
    """For a generative service: did its answers change in meaning, length, refusals or repetition?"""
    try:
        reference, current = source.reference_outputs(info.name), source.outputs(info.name, settings.window_min)
    except PlatformError:
        return  # the service produces no text
    result = semantic_drift(reference, current)
    out.results.append(result)
    if result.ok and result.figure("drifted"):
        add("semantic_drift", "application", result,
            f"the answers changed ({', '.join(result.figure('drifted_signals'))}): their mean embedding moved "
            f"{result.cite('centroid_shift_sd', '{:.2f}')} spreads (MMD p "
            f"{result.cite('mmd_p_value', '{:.3f}')}); refusals {result.cite('refusal_rate_reference', '{:.1%}')} -> "
            f"{result.cite('refusal_rate_current', '{:.1%}')}")


def _upstream(source: MetricSource, info: ServiceInfo, kinds: set[str], settings: MonitorSettings, *, depth: int,
              visited: frozenset[str], results: list[ToolResult]) -> list[Hypothesis]:
    """Hypotheses that put the cause in a dependency showing the same symptom, from that dependency's own diagnosis."""
    from agents.common import service_info
    from agents.monitor import FINDING_KINDS, scan, symptom_kinds

    symptoms = kinds & set(UPSTREAM_SYMPTOMS)
    out = []
    for dep in info.depends_on:
        if dep in visited:
            continue
        try:
            dep_info = service_info(source, dep)
        except KeyError:
            continue
        dep_scan = scan(source, dep_info, settings, kinds=FINDING_KINDS)
        results.extend(dep_scan.results)
        dep_kinds = symptom_kinds(dep_scan.findings)
        shared = symptoms & dep_kinds
        if not shared:
            continue
        dep_inv = investigate(source, dep_info, dep_scan.findings, settings, depth=depth + 1, visited=visited)
        results.extend(dep_inv.results)
        since = source.now() - timedelta(minutes=settings.deploy_lookback_min)
        dep_diag = diagnose([*dep_scan.findings, *dep_inv.evidence], dep_info, source.events(dep, since),
                            first_signal=source.now(), lookback_min=settings.deploy_lookback_min,
                            context=dep_inv.context, extra=dep_inv.upstream)
        if not dep_diag.hypotheses:
            continue
        top = dep_diag.hypotheses[0]
        explained = shared == symptoms and not kinds & set(LOCAL_CAUSES)
        cited = [f.tool_call_id for f in dep_scan.findings if f.kind in shared]
        out.append(Hypothesis(
            layer=top.layer, component=top.component, cause=f"upstream {dep}: {top.cause}",
            score=round(min(0.97, top.score + 0.1) if explained else 0.6 * top.score, 3),
            evidence=sorted(set(cited + top.evidence)), actions=list(top.actions),
            explanation=(f"dependency {dep} shows the same {', '.join(sorted(shared))}"
                         + ("" if explained else " but local evidence points here too")
                         + f"; its diagnosis: {top.explanation}")))
    return out


# ------------------------------------------------------------------------------------------------------ graph node


def _similar_from_memory(deps: Any, text: str, incident_id: str) -> list[dict[str, Any]]:
    """Similar closed incidents from vector memory, as plain dicts (empty without memory)."""
    if deps.memory is None:
        return []
    return [s.model_dump(mode="json") for s in deps.memory.similar(text, k=5, exclude_id=incident_id)]


def diagnose_node(state: Any, deps: Any) -> dict[str, Any]:
    """Investigate, rank hypotheses for the incident, record the diagnosis and audit it."""
    from agents.common import event, parse_time, save_tool_calls, service_info
    from policies import audit

    source, _platform = deps.sources.open(state["source_id"])
    info = service_info(source, state["service"])
    findings = [Finding(**f) for f in state["findings"]]
    first_signal = parse_time(state["observed_at"])
    lookback = deps.settings.deploy_lookback_min
    events = source.events(info.name, first_signal - timedelta(minutes=lookback))
    inquiry = investigate(source, info, findings, deps.settings)
    save_tool_calls(deps.store, state["incident_id"], [r.model_dump(mode="json") for r in inquiry.results])
    symptoms = symptom_text(info, findings)
    similar = _similar_from_memory(deps, symptoms, state["incident_id"])
    result = diagnose([*findings, *inquiry.evidence], info, events, first_signal=first_signal, lookback_min=lookback,
                      similar=similar, context=inquiry.context, extra=inquiry.upstream)
    top = result.hypotheses[0] if result.hypotheses else None
    deps.store.update_incident(state["incident_id"], layer=top.layer if top else None,
                               root_cause=top.component if top else None, confidence=result.confidence,
                               diagnosis=result.model_dump(mode="json"))
    audit.append(deps.store, actor=deps.actor, kind="diagnosis", incident_id=state["incident_id"],
                 subject=top.component if top else "unknown",
                 payload={"hypotheses": [h.model_dump(mode="json") for h in result.hypotheses],
                          "evidence": [e.summary for e in inquiry.evidence],
                          "confidence": result.confidence, "memory": result.memory_note})
    text = (f"{top.layer} layer, {top.component}: {top.cause} (score {top.score:.2f}, "
            f"evidence {', '.join(top.evidence)})" if top else "no hypothesis fits the findings")
    if inquiry.evidence:
        text += "; investigation: " + "; ".join(e.summary for e in inquiry.evidence)
    if result.memory_note:
        text += f"; memory: {result.memory_note}"
    return {"diagnosis": result.model_dump(mode="json"), "hypothesis_index": 0,
            "timeline": [event("diagnose", text)]}


def symptom_text(info: ServiceInfo, findings: Sequence[Finding]) -> str:
    """A description of the symptoms for similarity search (no numbers needed)."""
    kinds = sorted({f.kind for f in findings})
    layers = sorted({f.layer for f in findings})
    return f"service kind {info.kind}; signals {' '.join(kinds)}; layers {' '.join(layers)}"
