"""Tests for tools.capacity: Erlang C, M/M/c p95 and replicas for a latency SLO."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.capacity import erlang_c_wait, p95_response_ms, replicas_for_slo
from tools.results import ToolInputError


def _simulated_p95_ms(rate: float, service_ms: float, servers: int, n: int = 40000, seed: int = 0) -> float:
    """p95 response time of a first-come-first-served M/M/c queue, simulated."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1000.0 / rate, n))
    services = rng.exponential(service_ms, n)
    free_at = [0.0] * servers
    responses = np.empty(n)
    for i, (t, s) in enumerate(zip(arrivals, services, strict=True)):
        start = max(t, heapq.heappop(free_at))
        heapq.heappush(free_at, start + s)
        responses[i] = start + s - t
    return float(np.percentile(responses[n // 10 :], 95))


def test_erlang_c_known_values():
    assert erlang_c_wait(2, 1, 3) == pytest.approx(4 / 9)
    assert erlang_c_wait(0.5, 1, 1) == pytest.approx(0.5)  # M/M/1: P(wait) = utilisation
    assert erlang_c_wait(3, 1, 3) == 1.0
    assert erlang_c_wait(0, 1, 2) == 0.0


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.floats(0.01, 100), st.floats(0.1, 10), st.integers(1, 64))
def test_erlang_c_is_a_probability_and_falls_with_servers(rate, mu, servers):
    p = erlang_c_wait(rate, mu, servers)
    assert 0.0 <= p <= 1.0 and erlang_c_wait(rate, mu, servers + 1) <= p + 1e-12


@pytest.mark.parametrize("rate, servers", [(8.0, 1), (40.0, 5), (70.0, 8)])
def test_p95_matches_a_simulated_queue(rate, servers):
    assert p95_response_ms(rate, 100.0, servers) == pytest.approx(_simulated_p95_ms(rate, 100.0, servers), rel=0.1)


def test_replicas_for_slo_is_the_smallest_count_meeting_it():
    res = replicas_for_slo(50, 100, 400, current_replicas=5)
    f = res.figures
    assert res.tool == "capacity" and f["feasible"] is True
    assert f["p95_ms_at_needed"] <= 400 < p95_response_ms(50, 100, f["replicas_needed"] - 1)
    assert f["utilization"] == pytest.approx(50 * 0.1 / f["replicas_needed"])
    assert f["current_saturated"] is True and f["current_p95_ms_estimate"] is None


def test_replicas_for_slo_infeasible_below_service_time_tail():
    res = replicas_for_slo(5, 100, 250)  # p95 of service alone is 300 ms
    assert res.ok and res.figures["feasible"] is False and res.figures["replicas_needed"] is None
    assert "250" in res.message


def test_replicas_for_slo_idle_service_needs_one():
    f = replicas_for_slo(0, 100, 400, current_replicas=3).figures
    assert f["replicas_needed"] == 1 and f["current_p95_ms_estimate"] == pytest.approx(300, rel=0.01)


@pytest.mark.parametrize(
    "args, kwargs",
    [((-1, 100, 400), {}), ((5, 0, 400), {}), ((5, 100, float("nan")), {}), ((5, 100, 400), {"max_replicas": 0}),
     ((5, 100, 400), {"current_replicas": 1.5})],
)
def test_replicas_for_slo_bad_input(args, kwargs):
    with pytest.raises(ToolInputError):
        replicas_for_slo(*args, **kwargs)
