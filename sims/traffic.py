"""Traffic and serving: request rate with daily/weekly seasonality and bursts, and an M/M/c queue for latency.

The rate is relative to the busiest healthy minute (``PEAK_FACTOR`` is its largest value),
so a service provisioned for its peak stays under its target utilisation. Each replica
serves ``SLOTS_PER_REPLICA`` requests at once. Latency per request is model time (gamma
distributed) plus queueing wait: Erlang C while the queue is stable, plus a fluid backlog
when arrivals exceed capacity; requests that would wait longer than ``TIMEOUT_S`` are
dropped and counted as errors. ``capacity_factor`` scales throughput apart from model time
(a co-tenant holding the GPU between our batches slows the queue more than each request).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

BURSTS_PER_HOUR = 0.3
BURST_AMPLITUDE = (1.15, 1.4)
BURST_MINUTES = (10.0, 25.0)
NOISE_SD = 0.04
PEAK_FACTOR = 1.0 * BURST_AMPLITUDE[1] * math.exp(2.5 * NOISE_SD)  # daily peak x largest burst x noise
TIMEOUT_S = 2.0
BASE_ERROR_RATE = 0.002
SERVICE_TIME_SHAPE = 4.0
SLOTS_PER_REPLICA = 4  # requests one replica serves concurrently (GPU batch slots, CPU workers)


def seasonal(at: datetime) -> float:
    """Daily cycle (trough 0.4 at 04:00 UTC, peak 1.0 at 16:00) times a weekend dip of 0.8."""
    hour = at.hour + at.minute / 60.0
    daily = 0.7 - 0.3 * math.cos(2.0 * math.pi * (hour - 4.0) / 24.0)
    return daily * (0.8 if at.weekday() >= 5 else 1.0)


@dataclass(frozen=True)
class Traffic:
    """The relative request rate of one service; bursts are drawn per hour from the seed, so any time is reproducible."""

    seed: int
    stream: int
    start: datetime

    def _burst(self, hour: int, t: float) -> float:
        rng = np.random.default_rng([self.seed, self.stream, 31337, hour + 100_000])
        if rng.random() >= BURSTS_PER_HOUR:
            return 1.0
        begin = hour * 60.0 + rng.uniform(0.0, 60.0)
        length = rng.uniform(*BURST_MINUTES)
        amp = rng.uniform(*BURST_AMPLITUDE)
        return amp if begin <= t < begin + length else 1.0

    def factor(self, t: float, rng: np.random.Generator) -> float:
        """Relative rate at scenario minute ``t`` (``rng`` draws the per-tick noise)."""
        hour = math.floor(t / 60.0)
        burst = max(self._burst(hour, t), self._burst(hour - 1, t))
        noise = float(np.clip(rng.lognormal(0.0, NOISE_SD), math.exp(-2.5 * NOISE_SD), math.exp(2.5 * NOISE_SD)))
        return seasonal(self.start + timedelta(minutes=t)) * burst * noise


def erlang_c(c: int, offered: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``offered`` = lambda/mu < c."""
    b = 1.0
    for k in range(1, c + 1):
        b = offered * b / (k + offered * b)
    rho = offered / c
    return b / (1.0 - rho + rho * b)


@dataclass
class TickLoad:
    """What serving one tick looked like."""

    requests: int
    errors: int
    utilization: float
    backlog: float  # requests queued at the end of the tick
    latency_ms: np.ndarray  # per-request samples


def serve(
    *,
    rate_rps: float,
    service_ms: float,
    replicas: int,
    capacity_factor: float = 1.0,
    backlog: float,
    tick_s: float,
    samples: int,
    rng: np.random.Generator,
) -> TickLoad:
    """Serve one tick of Poisson arrivals on ``replicas`` replicas of mean model time ``service_ms``."""
    servers = replicas * SLOTS_PER_REPLICA
    mu = 1000.0 / service_ms * capacity_factor
    capacity = servers * mu
    rho = rate_rps / capacity
    end_backlog = max(0.0, backlog + (rate_rps - capacity) * tick_s)
    limit = capacity * TIMEOUT_S
    dropped = max(0.0, end_backlog - limit)
    end_backlog = min(end_backlog, limit)

    service = rng.gamma(SERVICE_TIME_SHAPE, service_ms / SERVICE_TIME_SHAPE, samples)
    wait = np.zeros(samples)
    if rho < 0.97:  # stable queue: Erlang C; beyond, the fluid backlog is the queue
        p_wait = erlang_c(servers, rho * servers)
        wait = np.where(rng.random(samples) < p_wait, rng.exponential(1000.0 / (capacity - rate_rps), samples), 0.0)
    fluid = rng.uniform(min(backlog, end_backlog), max(backlog, end_backlog), samples) / capacity * 1000.0
    wait = np.minimum(wait + fluid, TIMEOUT_S * 1000.0)
    requests = int(rng.poisson(rate_rps * tick_s))
    errors = int(rng.binomial(requests, BASE_ERROR_RATE)) + int(min(dropped, requests))
    return TickLoad(
        requests=requests,
        errors=min(errors, requests),
        utilization=float(rho),
        backlog=end_backlog,
        latency_ms=service + wait,
    )
