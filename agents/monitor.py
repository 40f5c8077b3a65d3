"""Monitor agent: runs the numeric tools over a service's live window and turns breaches into findings."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import NamedTuple

import numpy as np

from agents.deps import MonitorSettings
from agents.state import Finding
from tools.anomaly import anomaly_scan
from tools.data_quality import null_rates
from tools.drift import ReferenceProfile, ks_drift, prediction_drift, psi
from tools.observations import MetricSource, ServiceInfo, ServiceReference, ServiceWindow
from tools.performance import performance_drop
from tools.results import ToolResult
from tools.rootcause import resource_trend
from tools.slo import error_rate_check, latency_slo

FINDING_KINDS = ("null_rate", "feature_drift", "prediction_drift", "performance_drop", "latency_slo", "error_rate",
                 "memory_pressure", "metric_anomaly")


class WatchedMetric(NamedTuple):
    """How the monitor reads an anomaly in one per-tick metric."""

    layer: str  # the layer an anomaly in it belongs to
    harmful: int  # +1: only a rise is harmful (a latency that falls back is a recovery); 0: either way
    foreshadows: str | None  # the threshold symptom an unusual rise is an early sign of


ANOMALY_METRICS = {"p95_ms": WatchedMetric("infrastructure", 1, "latency_slo"),
                   "gpu_util": WatchedMetric("infrastructure", 1, "latency_slo"),
                   "cpu_util": WatchedMetric("infrastructure", 1, "latency_slo"),
                   "utilization": WatchedMetric("infrastructure", 1, "latency_slo"),
                   "rps": WatchedMetric("application", 0, None),
                   "error_rate": WatchedMetric("application", 1, "error_rate")}
"""Per-tick metrics the streaming anomaly detector watches. Saturation queues requests, so a utilisation rise
stands for latency; traffic foreshadows nothing and may go either way (traffic that vanishes matters as much as
a surge): a traffic anomaly alone is escalated, not diagnosed. Memory has its own trend check
(``memory_pressure``)."""


def symptom_kinds(findings: Sequence[Finding]) -> set[str]:
    """Finding kinds, plus the symptom each metric anomaly foreshadows, so diagnosis can start before a breach."""
    kinds = {f.kind for f in findings}
    for f in findings:
        if f.kind == "metric_anomaly":
            watched = [ANOMALY_METRICS.get(m) for m in f.figures.get("metrics", {})]
            kinds.update(w.foreshadows for w in watched if w is not None and w.foreshadows)
    return kinds


RECOVERY_KINDS = tuple(k for k in FINDING_KINDS if k != "metric_anomaly")
"""Checks that can tell whether a fix worked: thresholds judged on the post-fix window alone. The anomaly
detector cannot: it re-learns a level that persists, so its silence after a fix proves nothing."""

_PROFILES: OrderedDict[tuple, ReferenceProfile] = OrderedDict()
_PROFILE_CACHE_SIZE = 64


def reference_profile(reference: ServiceReference) -> ReferenceProfile:
    """The reference's PSI bins, built once per reference content (the source hands out fresh copies each call)."""
    feats = reference.features
    key = (reference.service, feats.shape, tuple(reference.feature_names), feats[:4].tobytes(), feats[-4:].tobytes(),
           float(np.nansum(feats[::97])))
    profile = _PROFILES.get(key)
    if profile is None:
        profile = ReferenceProfile(feats, feature_names=reference.feature_names)
        _PROFILES[key] = profile
        while len(_PROFILES) > _PROFILE_CACHE_SIZE:
            _PROFILES.popitem(last=False)
    else:
        _PROFILES.move_to_end(key)
    return profile


def tick_minutes(window: ServiceWindow) -> float:
    """Minutes between two points of the window's per-tick metric series."""
    minutes = window.metrics.get("minute")
    if minutes is not None and len(minutes) >= 2:
        return float(np.median(np.diff(minutes)))
    points = max(1, max((len(v) for v in window.metrics.values()), default=1))
    return max(1e-6, (window.end - window.start) / timedelta(minutes=1) / points)


class Scan:
    """Findings of one scan and every tool call made for it (cited or not)."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.results: list[ToolResult] = []
        self.checked: dict[str, bool] = {}  # finding kind -> whether the tool had enough data to judge

    def record(self, result: ToolResult, kind: str) -> ToolResult:
        """Keep a tool result and note whether it could judge its check."""
        self.results.append(result)
        self.checked[kind] = self.checked.get(kind, False) or result.ok
        return result


def scan(
    source: MetricSource,
    info: ServiceInfo,
    settings: MonitorSettings,
    *,
    window_min: float | None = None,
    label_window_min: float | None = None,
    kinds: tuple[str, ...] = FINDING_KINDS,
    accuracy_alpha: float | None = None,
) -> Scan:
    """Run every check in ``kinds`` on the service's latest window; return findings and tool results."""
    minutes = window_min or settings.window_min
    window = source.window(info.name, minutes)
    reference = source.reference(info.name)
    observed_at = source.now().isoformat()
    out = Scan()

    def add(kind: str, layer: str, severity: str, result: ToolResult, summary: str) -> None:
        out.findings.append(Finding(service=info.name, kind=kind, layer=layer, severity=severity,  # type: ignore[arg-type]
                                    summary=summary, tool_call_id=result.tool_call_id, tool=result.tool,
                                    figures=dict(result.figures), observed_at=observed_at))

    checks: dict[str, Callable[[], None]] = {}

    def check_nulls() -> None:
        result = out.record(null_rates(window.features, window.feature_names, reference=reference.features,
                                       threshold=settings.null_threshold), "null_rate")
        columns = result.figure("columns_with_nulls") or []
        if result.ok and columns:
            rate = result.figure("max_null_rate")
            add("null_rate", "data", "critical" if rate >= 0.2 else "warning", result,
                f"feature pipeline sends nulls in {', '.join(columns)}: max null rate "
                f"{result.cite('max_null_rate', '{:.1%}')} in {result.figure('max_feature')} "
                f"(threshold {settings.null_threshold:.0%})")

    def check_feature_drift() -> None:
        profile = reference_profile(reference)
        by_psi = out.record(psi(profile, window.features, threshold=settings.psi_threshold), "feature_drift")
        flagged = by_psi.figure("drifted") or []
        if not (by_psi.ok and flagged):
            return  # KS only confirms what PSI flags: nothing flagged, nothing to confirm
        by_ks = out.record(ks_drift(profile, window.features, alpha=settings.ks_alpha), "feature_drift")
        if not by_ks.ok:
            return
        drifted = [f for f in flagged if f in set(by_ks.figure("drifted") or [])]
        if drifted:
            add("feature_drift", "data", "warning", by_psi,
                f"input drift in {', '.join(drifted)}: max PSI {by_psi.cite('max_psi', '{:.2f}')} in "
                f"{by_psi.figure('max_feature')}, KS D {by_ks.cite('max_statistic', '{:.2f}')}")
            out.findings[-1].figures["drifted_both"] = drifted
            out.findings[-1].figures["ks_tool_call_id"] = by_ks.tool_call_id

    def check_prediction_drift() -> None:
        result = out.record(prediction_drift(reference.predictions, window.predictions,
                                             threshold=settings.psi_threshold), "prediction_drift")
        if result.ok and result.figure("drifted"):
            add("prediction_drift", "model", "warning", result,
                f"model output distribution shifted: PSI {result.cite('psi', '{:.2f}')}, "
                f"KS D {result.cite('ks_statistic', '{:.2f}')}")

    def check_performance() -> None:
        labelled = source.window(info.name, label_window_min or settings.label_window_min)
        result = out.record(performance_drop(reference.labels, reference.predictions, labelled.labels,
                                             labelled.labelled_predictions, min_labels=settings.min_labels,
                                             alpha=accuracy_alpha or settings.accuracy_alpha,
                                             min_drop=settings.min_accuracy_drop),
                            "performance_drop")
        if result.ok and result.figure("degraded"):
            add("performance_drop", "model", "critical", result,
                f"accuracy on matured labels fell from {result.cite('reference_accuracy', '{:.3f}')} to "
                f"{result.cite('current_accuracy', '{:.3f}')} (p={result.cite('p_value', '{:.2g}')}, "
                f"n={result.figure('n_labels')})")

    def check_latency() -> None:
        result = out.record(latency_slo(window.latency_ms, slo_p95_ms=info.slo_p95_ms), "latency_slo")
        if result.ok and result.figure("breach"):
            add("latency_slo", "infrastructure", "critical" if result.figure("burn", 0) >= 2 else "warning", result,
                f"p95 latency {result.cite('p95_ms', '{:.0f}')} ms over the {info.slo_p95_ms:.0f} ms SLO "
                f"(burn {result.cite('burn', '{:.2f}')})")

    def check_errors() -> None:
        result = out.record(error_rate_check(window.errors, window.requests,
                                             slo_error_rate=settings.error_rate_slo), "error_rate")
        if result.ok and result.figure("breach"):
            add("error_rate", "application", "critical", result,
                f"error rate {result.cite('error_rate', '{:.2%}')} over the {settings.error_rate_slo:.0%} SLO")

    def check_memory() -> None:
        series = window.metrics.get("mem_util")
        if series is None or len(series) == 0:
            return
        result = out.record(resource_trend(series, limit=settings.memory_limit, step_min=tick_minutes(window),
                                           horizon_min=settings.memory_horizon_min), "memory_pressure")
        if result.ok and result.figure("at_risk"):
            minutes = result.figure("minutes_to_limit")
            when = ("already at the limit" if not minutes else
                    f"reaching {settings.memory_limit:.0%} in {result.cite('minutes_to_limit', '{:.0f}')} min")
            add("memory_pressure", "application", "critical" if not minutes or minutes < 20 else "warning", result,
                f"memory use {result.cite('level', '{:.0%}')} climbing {result.cite('slope_per_hour', '{:+.0%}')}/h, "
                f"{when}")

    def check_metric_anomalies() -> None:
        history = source.window(info.name, settings.anomaly_history_min)
        step = tick_minutes(history)
        recent = max(1, round(minutes / step))  # points of the latest window
        day = round(24 * 60 / step)
        # Material: an unusual rise only counts once the metric is part-way to its limit, so a first error
        # after a day of none, or a p95 that doubles from 10 ms, is not an incident.
        share = settings.anomaly_material_share
        material = {"p95_ms": share * info.slo_p95_ms, "error_rate": share * settings.error_rate_slo,
                    "gpu_util": share, "cpu_util": share, "utilization": share}
        flagged: list[tuple[str, ToolResult]] = []
        for metric, watched in ANOMALY_METRICS.items():
            series = history.metrics.get(metric)
            if series is None or len(series) == 0:
                continue
            # A daily season is only worth modelling with three days of history; otherwise no season.
            period = day if len(series) >= 3 * day >= 6 else 0
            result = out.record(anomaly_scan(series, period=period, threshold=settings.anomaly_threshold),
                                "metric_anomaly")
            last = result.figure("last_index")
            if not (result.ok and last is not None and last >= len(series) - recent):
                continue
            value = result.figure("last_value")
            if watched.harmful == 0 or ((value - result.figure("last_expected")) * watched.harmful > 0
                                and value >= material.get(metric, 0.0)):
                flagged.append((metric, result))
        if not flagged:
            return
        flagged.sort(key=lambda item: -item[1].figure("last_score"))
        metric, top = flagged[0]
        parts = [f"{m} {r.cite('last_value', '{:.4g}')} where {r.cite('last_expected', '{:.4g}')} was expected "
                 f"(score {r.cite('last_score', '{:.2f}')})" for m, r in flagged]
        add("metric_anomaly", ANOMALY_METRICS[metric].layer, "warning", top,
            f"unusual {', '.join(parts)} in the last {minutes:.0f} min against the "
            f"metric's own last {settings.anomaly_history_min / 60:.0f} h")
        out.findings[-1].figures.update(metric=metric, metrics={m: r.figure("last_score") for m, r in flagged},
                                        values={m: r.figure("last_value") for m, r in flagged},
                                        tool_call_ids={m: r.tool_call_id for m, r in flagged})

    checks.update(null_rate=check_nulls, feature_drift=check_feature_drift, prediction_drift=check_prediction_drift,
                  performance_drop=check_performance, latency_slo=check_latency, error_rate=check_errors,
                  memory_pressure=check_memory, metric_anomaly=check_metric_anomalies)
    for kind in kinds:
        checks[kind]()
    return out
