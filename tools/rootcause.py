"""Root-cause evidence: level shifts against a series' own past, resource trends, unit changes, recent platform changes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from scipy import stats

from tools._validate import as_float_array, paired_matrices, positive_number
from tools.observations import PlatformEvent
from tools.results import ToolInputError, ToolResult, insufficient, tool_result

MIN_BASELINE = 4
"""Fewest non-NaN baseline points a level shift is measured against."""

MIN_SPREAD_SAMPLES = 30
"""Fewest non-NaN values per window a feature's spread is compared on."""


def _count(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ToolInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def level_shift(series: np.ndarray, *, recent: int, ratio: float = 2.0) -> ToolResult:
    """Mean of the last ``recent`` points over the median of the points before; shifted when the ratio passes ``ratio`` either way."""
    values = as_float_array(series, "series", allow_nan=True)
    recent = _count(recent, "recent")
    ratio = positive_number(ratio, "ratio")
    if ratio <= 1.0:
        raise ToolInputError(f"ratio must be > 1, got {ratio}")
    inputs = {"n": values.size, "recent": recent, "ratio": ratio}
    base = values[:-recent] if recent < values.size else values[:0]
    last = values[-recent:]
    base, last = base[~np.isnan(base)], last[~np.isnan(last)]
    if base.size < MIN_BASELINE or last.size == 0:
        return insufficient("level_shift", f"need {MIN_BASELINE} baseline points and 1 recent point, got "
                            f"{base.size} and {last.size}", inputs=inputs)
    median = float(np.median(base))
    spread = float(1.4826 * np.median(np.abs(base - median)))
    mean = float(last.mean())
    if median > 0:
        value = mean / median
    else:
        value = np.inf if mean > 0 else 1.0
    z = (mean - median) / (spread / np.sqrt(last.size)) if spread > 0 else (0.0 if mean == median else np.inf)
    figures = {
        "baseline_median": median,
        "baseline_spread": spread,
        "recent_mean": mean,
        "ratio": value,
        "robust_z": z,
        "shifted": bool(value >= ratio or value <= 1.0 / ratio),
        "direction": "up" if mean > median else ("down" if mean < median else "none"),
        "n_baseline": int(base.size),
        "n_recent": int(last.size),
    }
    return tool_result("level_shift", inputs=inputs, figures=figures)


def resource_trend(series: np.ndarray, *, limit: float, step_min: float, horizon_min: float = 60.0,
                   alpha: float = 0.001) -> ToolResult:
    """Level (last 3 points), least-squares slope per minute and minutes until a utilisation series reaches ``limit``.

    ``at_risk`` when the level already reaches ``limit``, or the slope is significantly positive
    (one-sided p < ``alpha``) and the projected crossing is within ``horizon_min``.
    """
    values = as_float_array(series, "series", allow_nan=True)
    limit = float(as_float_array([limit], "limit")[0])
    step_min = positive_number(step_min, "step_min")
    horizon_min = positive_number(horizon_min, "horizon_min")
    inputs = {"n": values.size, "limit": limit, "step_min": step_min, "horizon_min": horizon_min, "alpha": alpha}
    keep = ~np.isnan(values)
    y = values[keep]
    x = np.flatnonzero(keep).astype(float) * step_min
    if y.size < 6:
        return insufficient("resource_trend", f"need at least 6 non-NaN points, got {y.size}", inputs=inputs)
    fit = stats.linregress(x, y)
    slope = float(fit.slope)
    se = float(fit.stderr)
    if se > 0:
        p_value = float(stats.t.sf(slope / se, y.size - 2))
    else:
        p_value = 0.0 if slope > 0 else 1.0
    level = float(y[-3:].mean())
    minutes = (limit - level) / slope if slope > 0 and level < limit else (0.0 if level >= limit else None)
    at_risk = level >= limit or (p_value < alpha and minutes is not None and minutes <= horizon_min)
    figures = {
        "level": level,
        "slope_per_min": slope,
        "slope_per_hour": slope * 60.0,
        "p_value": p_value,
        "minutes_to_limit": minutes,
        "limit": limit,
        "at_risk": bool(at_risk),
        "n": int(y.size),
    }
    return tool_result("resource_trend", inputs=inputs, figures=figures)


def _iqr(x: np.ndarray) -> float:
    q1, q3 = np.percentile(x, [25, 75])
    return float(q3 - q1)


def scale_change(reference: np.ndarray, current: np.ndarray, *, feature_names: Sequence[str] | None = None,
                 factor: float = 5.0) -> ToolResult:
    """Per feature, current over reference spread (IQR); a feature rescaled by ``factor`` or more changed units or type.

    A covariate shift moves a feature's location and keeps its spread; a unit or type change
    (grams for kilograms, cents for euros, a code for a number) multiplies the spread.
    """
    ref, cur, names = paired_matrices(reference, current, feature_names)
    factor = positive_number(factor, "factor")
    if factor <= 1.0:
        raise ToolInputError(f"factor must be > 1, got {factor}")
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names), "factor": factor}
    ratios: dict[str, float | None] = {}
    for j, name in enumerate(names):
        r, c = ref[:, j], cur[:, j]
        r, c = r[~np.isnan(r)], c[~np.isnan(c)]
        if min(r.size, c.size) < MIN_SPREAD_SAMPLES:
            ratios[name] = None
            continue
        spread_ref, spread_cur = _iqr(r), _iqr(c)
        if spread_ref <= 0:  # a point mass (categorical) in the reference: fall back on the standard deviation
            spread_ref, spread_cur = float(r.std()), float(c.std())
        if spread_ref <= 0:
            ratios[name] = None
            continue
        ratios[name] = spread_cur / spread_ref
    measured = {k: v for k, v in ratios.items() if v is not None}
    if not measured:
        return insufficient("scale_change", f"no feature has {MIN_SPREAD_SAMPLES} non-NaN values with a spread in "
                            "both windows", inputs=inputs)
    worst = max(measured, key=lambda k: abs(np.log(measured[k])) if measured[k] > 0 else np.inf)
    figures = {
        "spread_ratio": ratios,
        "rescaled": [k for k, v in measured.items() if v >= factor or v <= 1.0 / factor],
        "max_feature": worst,
        "max_ratio": measured[worst],
        "factor": factor,
    }
    return tool_result("scale_change", inputs=inputs, figures=figures)


def change_events(events: Sequence[PlatformEvent], *, kinds: Sequence[str], start: datetime, end: datetime,
                  match: dict[str, object] | None = None) -> ToolResult:
    """Platform events of ``kinds`` in [start, end] whose detail holds every ``match`` item; the latest one first."""
    if isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds):
        raise ToolInputError("kinds must be a list of event kinds (strings)")
    if end < start:
        raise ToolInputError(f"end {end.isoformat()} is before start {start.isoformat()}")
    match = dict(match or {})
    inputs = {"n_events": len(events), "kinds": list(kinds), "start": start.isoformat(), "end": end.isoformat(),
              "match": match}
    hits = sorted((e for e in events if e.kind in kinds and start <= e.at <= end
                   and all(e.detail.get(k) == v for k, v in match.items())), key=lambda e: e.at, reverse=True)
    figures = {
        "count": len(hits),
        "latest_at": hits[0].at.isoformat() if hits else None,
        "latest_service": hits[0].service if hits else None,
        "latest_kind": hits[0].kind if hits else None,
        "latest_detail": dict(hits[0].detail) if hits else None,
        "minutes_before_end": (end - hits[0].at).total_seconds() / 60.0 if hits else None,
    }
    return tool_result("change_events", inputs=inputs, figures=figures)
