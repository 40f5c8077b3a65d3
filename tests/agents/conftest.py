"""A small in-memory MetricSource for agent tests: synthetic windows, references and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from agents.state import Finding
from tools.observations import PlatformEvent, ServiceInfo, ServiceReference, ServiceWindow

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
NAMES = ["a", "b", "c", "d"]


def finding(kind: str, service: str = "svc", **figures: Any) -> Finding:
    """A synthetic finding of ``kind`` (its numbers are irrelevant to the rules)."""
    layer = {"null_rate": "data", "feature_drift": "data", "latency_slo": "infrastructure",
             "error_rate": "application", "memory_pressure": "application"}.get(kind, "model")
    return Finding(service=service, kind=kind, layer=layer, summary=kind, tool_call_id=f"tc-test-{kind}",
                   tool="test", figures=figures, observed_at=NOW.isoformat())


@dataclass
class FakeService:
    """The data one synthetic service serves: healthy by default, changed by the test."""

    info: ServiceInfo
    features: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    latency_ms: np.ndarray | None = None
    errors: int = 0
    requests: int = 10_000
    ref_features: np.ndarray | None = None
    ref_predictions: np.ndarray | None = None
    ref_labels: np.ndarray | None = None
    store: str | None = None

    @property
    def described(self) -> ServiceInfo:
        """The service's description as its source publishes it (with the store it reads)."""
        return self.info.model_copy(update={"feature_store": self.store})


def healthy(name: str = "svc", *, n: int = 1200, seed: int = 0, ticks: int = 36, **info: Any) -> FakeService:
    """A healthy service: features, calibrated scores, labels drawn from them, flat metrics."""
    rng = np.random.default_rng(seed)

    def draw(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = rng.normal(size=(rows, len(NAMES)))
        p = 1 / (1 + np.exp(-2.0 * X[:, 0]))
        return X, p, (rng.random(rows) < p).astype(np.int8)

    X, p, y = draw(n)
    RX, rp, ry = draw(4000)
    metrics = {"minute": np.arange(ticks) * 5.0, "rps": 40 + rng.normal(0, 1, ticks),
               "utilization": 0.3 + rng.normal(0, 0.005, ticks), "replicas": np.full(ticks, 2.0),
               "mem_util": 0.5 + rng.normal(0, 0.01, ticks)}
    return FakeService(info=ServiceInfo(name=name, **info), features=X, predictions=p, labels=y, metrics=metrics,
                       latency_ms=rng.gamma(4, 10, n), ref_features=RX, ref_predictions=rp, ref_labels=ry)


class FakeSource:
    """MetricSource over FakeService objects; every window is the service's whole synthetic data."""

    def __init__(self, *services: FakeService, events: list[PlatformEvent] | None = None) -> None:
        self.svcs = {s.info.name: s for s in services}
        self.event_list = events or []
        self.clock = NOW
        self.waited = 0.0

    def services(self) -> list[ServiceInfo]:
        return [s.described for s in self.svcs.values()]

    def now(self) -> datetime:
        return self.clock

    def reference(self, service: str) -> ServiceReference:
        s = self.svcs[service]
        return ServiceReference(service=service, feature_names=NAMES, features=s.ref_features.copy(),
                                predictions=s.ref_predictions.copy(), labels=s.ref_labels.copy(),
                                latency_ms=np.full(100, 40.0))

    def window(self, service: str, minutes: float) -> ServiceWindow:
        s = self.svcs[service]
        return ServiceWindow(service=service, start=self.clock - timedelta(minutes=minutes), end=self.clock,
                             feature_names=NAMES, features=s.features, predictions=s.predictions, labels=s.labels,
                             labelled_predictions=s.predictions[: len(s.labels)], latency_ms=s.latency_ms,
                             errors=s.errors, requests=s.requests, metrics=s.metrics)

    def events(self, service: str, since: datetime) -> list[PlatformEvent]:
        return [e for e in self.event_list if e.service == service and e.at >= since]

    def wait(self, minutes: float) -> None:
        self.waited += minutes
        self.clock += timedelta(minutes=minutes)


def event(kind: str, service: str = "svc", minutes_ago: float = 30.0, **detail: Any) -> PlatformEvent:
    """A platform event ``minutes_ago`` before NOW."""
    return PlatformEvent(at=NOW - timedelta(minutes=minutes_ago), service=service, kind=kind, detail=detail)
