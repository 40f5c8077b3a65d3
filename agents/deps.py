"""What the graph's nodes need from the outside, passed in once when the graph is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from memory.store import Store
from tools.actions import Platform
from tools.observations import MetricSource


class SourceRegistry(Protocol):
    """Finds the metric source and platform behind a source id, and persists changes to them."""

    def open(self, source_id: str) -> tuple[MetricSource, Platform]:
        """The source and platform for this id (loaded if needed)."""
        ...

    def commit(self, source_id: str) -> None:
        """Persist whatever executing actions or waiting changed."""
        ...


class ApprovalChannel(Protocol):
    """Somewhere an approval request is posted: terminal, web, Slack."""

    name: str

    def post(self, request: dict[str, Any]) -> None:
        """Announce a pending approval; must not raise on delivery failure."""
        ...


@dataclass(frozen=True)
class MonitorSettings:
    """Windows and thresholds of the monitor and verify steps."""

    window_min: float = 60.0
    label_window_min: float = 120.0
    psi_threshold: float = 0.25
    ks_alpha: float = 0.001
    null_threshold: float = 0.05
    min_accuracy_drop: float = 0.05
    accuracy_alpha: float = 0.01
    min_labels: int = 100
    error_rate_slo: float = 0.02
    verify_wait_min: float = 60.0
    verify_overload_min: float = 30.0  # after a scale-up, judge this early when the service is still overloaded
    verify_accuracy_alpha: float = 0.001  # a verify window has few matured labels: judge a new accuracy drop strictly
    deploy_lookback_min: float = 240.0
    memory_limit: float = 0.9  # memory share past which replicas get OOM-killed
    memory_horizon_min: float = 60.0  # warn when the memory trend reaches the limit within this
    surge_ratio: float = 1.5  # request rate over its own recent median that counts as a surge
    capacity_ratio: float = 1.3  # work per request (utilisation / rate) over its recent median: capacity lost
    baseline_min: float = 120.0  # how far back the rate / capacity baselines reach
    recent_min: float = 10.0  # what counts as "now" against those baselines
    disabled_probes: frozenset[str] = frozenset()  # investigation questions left unasked (ablations, cost limits)
    unit_factor: float = 5.0  # a feature's spread changed this many times: units or type changed
    label_shift_min: float = 0.06  # positive-label rate moved by this much (and away from the scores): prior shift
    segment_drop_min: float = 0.1  # one segment's accuracy fell by this much while the rest held
    sharpness_gain_min: float = 0.08  # scores this much more confident (mean |2s-1|): a feedback loop is a suspect
    # Streaming anomaly scores of the per-tick metrics: a finding when a point of the latest window scores this
    # high. 0.97 (a surprise ratio of ~32 over the series' own 99th percentile) raised nothing in the ten bundled
    # control scenarios, 0.9 raised 7 and the NAB-tuned 0.6 raised 60 (python -m bench.metric_anomaly_flags).
    anomaly_threshold: float = 0.97
    anomaly_history_min: float = 24 * 60.0  # history each metric's detector reads (its season needs 3 days)
    anomaly_material_share: float = 0.5  # a rise counts from this share of its SLO (utilisations: of 1)


@dataclass
class AgentDeps:
    """Everything the nodes use; the graph is built once around it."""

    store: Store
    sources: SourceRegistry
    catalogue: Any
    policy: Any
    memory: Any | None = None
    roles: Any | None = None  # policies.roles.RoleBook: approvers' roles are re-checked at execution
    postmortem_dir: Path | None = None
    channels: list[ApprovalChannel] = field(default_factory=list)
    settings: MonitorSettings = field(default_factory=MonitorSettings)
    actor: str = "opsgraph"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # wall clock of approvals and policy
