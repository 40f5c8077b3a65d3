"""What a metric source hands the monitor: service descriptions, windows of live data, the reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, Field

Layer = Literal["data", "model", "application", "infrastructure"]
LAYERS: tuple[Layer, ...] = ("data", "model", "application", "infrastructure")


class ServiceInfo(BaseModel):
    """Static and slowly-changing facts about one monitored service."""

    name: str
    kind: str = "classifier"
    environment: str = "production"
    tier: int = 2
    replicas: int = 1
    min_replicas: int = 1
    max_replicas: int = 10
    slo_p95_ms: float = 250.0
    model_version: str = "v1"
    model_versions: list[str] = Field(default_factory=list)
    pipeline: str | None = None
    feature_store: str | None = None  # the store the service reads its features from, when it uses one
    depends_on: list[str] = Field(default_factory=list)


class PlatformEvent(BaseModel):
    """A change on the platform: deploy, scale, restart, rollback (useful evidence for diagnosis)."""

    at: datetime
    service: str
    kind: str
    detail: dict = Field(default_factory=dict)


@dataclass(frozen=True)
class ServiceReference:
    """The reference a service is compared with: training-time features, predictions and labels."""

    service: str
    feature_names: list[str]
    features: np.ndarray  # (n, d) float
    predictions: np.ndarray  # (n,) scores in [0, 1]
    labels: np.ndarray  # (n,) 0/1
    latency_ms: np.ndarray  # (k,) healthy latency samples


@dataclass(frozen=True)
class ServiceWindow:
    """Live data of one service over [start, end): requests, predictions, matured labels, metrics."""

    service: str
    start: datetime
    end: datetime
    feature_names: list[str]
    features: np.ndarray  # (n, d) float, NaN where the pipeline sent null
    predictions: np.ndarray  # (n,) scores in [0, 1]
    labels: np.ndarray  # (m,) 0/1 labels that have arrived for requests in the window
    labelled_predictions: np.ndarray  # (m,) the predictions those labels belong to
    latency_ms: np.ndarray  # (n,) per-request latency
    errors: int
    requests: int
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # per-tick series: p95_ms, rps, error_rate, gpu_util


@runtime_checkable
class MetricSource(Protocol):
    """Windows of metrics, predictions, features and labels per service."""

    def services(self) -> list[ServiceInfo]:
        """The services this source watches."""
        ...

    def now(self) -> datetime:
        """The source's current time (simulated or wall clock)."""
        ...

    def reference(self, service: str) -> ServiceReference:
        """The reference data of the service's live model."""
        ...

    def window(self, service: str, minutes: float) -> ServiceWindow:
        """The last ``minutes`` of live data of the service."""
        ...

    def events(self, service: str, since: datetime) -> list[PlatformEvent]:
        """Platform events for the service since a time."""
        ...

    def wait(self, minutes: float) -> None:
        """Let ``minutes`` pass (the simulator fast-forwards; a live source sleeps)."""
        ...


@runtime_checkable
class OutputSource(Protocol):
    """A source that can also show a generative service's answers (response texts)."""

    def outputs(self, service: str, minutes: float) -> list[str]:
        """Response texts of the last ``minutes`` (PlatformError for a service that produces no text)."""
        ...

    def reference_outputs(self, service: str) -> list[str]:
        """Response texts of the service's reference window (PlatformError for a service that produces no text)."""
        ...
