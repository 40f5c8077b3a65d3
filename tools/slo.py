"""Service-level objectives: latency percentiles against a p95 target, and error rate against a target."""

from __future__ import annotations

import numpy as np
from scipy import stats

from tools._validate import as_float_array, positive_number, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result

MIN_LATENCY_SAMPLES = 20
"""Fewest requests for which a p95 is worth reporting."""


def latency_slo(latency_ms: np.ndarray, *, slo_p95_ms: float) -> ToolResult:
    """p50/p95/p99 of request latencies; breach when p95 > ``slo_p95_ms``; burn = p95 / SLO."""
    lat = as_float_array(latency_ms, "latency_ms")
    slo = positive_number(slo_p95_ms, "slo_p95_ms")
    if (lat < 0).any():
        raise ToolInputError("latency_ms contains negative values")
    inputs = {"n": lat.size, "slo_p95_ms": slo}
    if lat.size < MIN_LATENCY_SAMPLES:
        return insufficient("latency_slo", f"need at least {MIN_LATENCY_SAMPLES} latencies, got {lat.size}",
                            inputs=inputs)
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    figures = {
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "slo_p95_ms": slo,
        "breach": bool(p95 > slo),
        "burn": p95 / slo,
        "n": lat.size,
    }
    return tool_result("latency_slo", inputs=inputs, figures=figures)


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ToolInputError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def error_rate_check(errors: int, requests: int, *, slo_error_rate: float = 0.02) -> ToolResult:
    """Error rate against its SLO; breach when errors / requests > ``slo_error_rate``.

    ``p_value`` is the binomial probability of seeing this many errors if the true rate were at the SLO,
    so a breach on a handful of requests can be told from a real one.
    """
    errors = _count(errors, "errors")
    requests = _count(requests, "requests")
    slo = probability(slo_error_rate, "slo_error_rate")
    if errors > requests:
        raise ToolInputError(f"errors ({errors}) exceed requests ({requests})")
    inputs = {"errors": errors, "requests": requests, "slo_error_rate": slo}
    if requests == 0:
        return insufficient("error_rate", "no requests in the window", inputs=inputs)
    rate = errors / requests
    figures = {
        "error_rate": rate,
        "slo_error_rate": slo,
        "breach": rate > slo,
        "p_value": float(stats.binom.sf(errors - 1, requests, slo)),
        "errors": errors,
        "requests": requests,
    }
    return tool_result("error_rate", inputs=inputs, figures=figures)
