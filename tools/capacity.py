"""Capacity planning for a replicated service modelled as an M/M/c queue (Erlang C): replicas to meet a p95 SLO."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from tools._validate import positive_number
from tools.results import ToolInputError, ToolResult, tool_result

_TAIL = 0.05  # p95


def _servers(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ToolInputError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _rate(value: object, name: str) -> float:
    if value == 0:
        return 0.0
    return positive_number(value, name)


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Probability that a request has to queue in an M/M/c system (Erlang C); 1.0 when the queue is unstable."""
    lam = _rate(arrival_rate, "arrival_rate")
    mu = positive_number(service_rate, "service_rate")
    c = _servers(servers, "servers")
    load = lam / mu  # offered load in Erlangs
    if load >= c:
        return 1.0
    blocking = 1.0  # Erlang B by its stable recursion, then Erlang C from it
    for k in range(1, c + 1):
        blocking = load * blocking / (k + load * blocking)
    return c * blocking / (c - load * (1.0 - blocking))


def _response_tail(t: float, mu: float, theta: float, wait: float) -> float:
    """P(response time > t): an Exp(mu) service after a wait that is Exp(theta) with probability ``wait``."""
    service = math.exp(-mu * t)
    if abs(theta - mu) < 1e-9 * mu:
        both = (1.0 + mu * t) * service
    else:
        both = (theta * service - mu * math.exp(-theta * t)) / (theta - mu)
    return (1.0 - wait) * service + wait * both


def p95_response_ms(arrival_rate_per_s: float, service_time_ms: float, replicas: int) -> float:
    """95th percentile of response time (queueing plus service) in ms for M/M/c; inf when unstable."""
    mu = 1000.0 / positive_number(service_time_ms, "service_time_ms")
    lam = _rate(arrival_rate_per_s, "arrival_rate_per_s")
    c = _servers(replicas, "replicas")
    if lam >= c * mu:
        return math.inf
    wait = erlang_c_wait(lam, mu, c)
    theta = c * mu - lam
    upper = 1.0 / mu
    while _response_tail(upper, mu, theta, wait) > _TAIL:
        upper *= 2.0
    return 1000.0 * brentq(lambda t: _response_tail(t, mu, theta, wait) - _TAIL, 0.0, upper, xtol=1e-12)


def replicas_for_slo(
    arrival_rate_per_s: float,
    service_time_ms: float,
    slo_p95_ms: float,
    *,
    current_replicas: int | None = None,
    max_replicas: int = 64,
) -> ToolResult:
    """Fewest replicas whose M/M/c p95 response time meets ``slo_p95_ms``, and the p95 at the current count.

    ``replicas_needed`` is None (``feasible`` False) when even ``max_replicas`` cannot meet the SLO, for
    example when the SLO is below the p95 of service time alone (about 3 times the mean service time).
    """
    lam = _rate(arrival_rate_per_s, "arrival_rate_per_s")
    service_ms = positive_number(service_time_ms, "service_time_ms")
    slo = positive_number(slo_p95_ms, "slo_p95_ms")
    cap = _servers(max_replicas, "max_replicas")
    current = None if current_replicas is None else _servers(current_replicas, "current_replicas")
    mu = 1000.0 / service_ms
    inputs = {"arrival_rate_per_s": lam, "service_time_ms": service_ms, "slo_p95_ms": slo,
              "current_replicas": current, "max_replicas": cap}
    needed = next((c for c in range(max(1, math.ceil(lam / mu)), cap + 1)
                   if p95_response_ms(lam, service_ms, c) <= slo), None)
    figures = {
        "replicas_needed": needed,
        "feasible": needed is not None,
        "utilization": None if needed is None else lam / (needed * mu),
        "p95_ms_at_needed": None if needed is None else p95_response_ms(lam, service_ms, needed),
        "current_replicas": current,
        "current_utilization": None if current is None else lam / (current * mu),
        # None when the current replicas cannot keep up (utilisation >= 1): the queue grows without bound.
        "current_p95_ms_estimate": None if current is None else p95_response_ms(lam, service_ms, current),
        "current_saturated": None if current is None else lam >= current * mu,
        "slo_p95_ms": slo,
    }
    message = "" if needed is not None else f"no replica count up to {cap} meets a p95 of {slo} ms"
    return tool_result("capacity", inputs=inputs, figures=figures, message=message)
