"""The fault library: each fault is one small class that changes a service's generating process.

A fault acts from ``start_min``, ramps linearly to full strength over ``ramp_min`` and
stops at ``end_min`` (if given) or when an action clears its cause (``cleared_by``). The
world asks every fault of a service, each tick, through four hooks:

- ``shift(X, level, rng)`` — the true feature process (labels follow the shifted rows);
- ``pipeline(X, level, rng)`` — what the feature pipeline delivers to the model;
- ``work_factor(level)`` — how much more model time each request needs;
- ``capacity_factor(level)`` — the share of its throughput each replica keeps;
- ``on_start(world, service)`` — a one-off change of the platform (e.g. a deploy).

Each class also carries the ground truth of the incident it causes (layer, component,
remediation, whether the fix needs approval), so scenarios can be checked against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sims.services import ServiceKind, trained_version

if TYPE_CHECKING:
    from sims.scenario import FaultSpec
    from sims.world import ServiceState, SimWorld


class Fault:
    """Base class: a fault that does nothing until a hook is overridden."""

    type: ClassVar[str]
    layer: ClassVar[str]
    component: ClassVar[str]  # suffix of the root-cause component: "<service>.<component>"
    remediation: ClassVar[tuple[str, ...]]
    requires_approval: ClassVar[bool]
    cleared_by: ClassVar[str | None] = None  # action that removes the cause

    def __init__(self, spec: FaultSpec, kind: ServiceKind) -> None:
        self.spec = spec
        self.kind = kind
        self.cleared_at: float | None = None
        self.started = False

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        """Raise ValueError if the spec's magnitude or params make no sense for the kind."""
        unknown = set(spec.params) - set(cls.param_names())
        if unknown:
            raise ValueError(f"unknown params {sorted(unknown)}; allowed: {sorted(cls.param_names())}")

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return ()

    def level(self, t: float) -> float:
        """Strength in [0, 1] at scenario minute ``t``."""
        s = self.spec
        if t < s.start_min or (s.end_min is not None and t >= s.end_min):
            return 0.0
        if self.cleared_at is not None and t >= self.cleared_at:
            return 0.0
        if s.ramp_min <= 0:
            return 1.0
        return float(min(1.0, (t - s.start_min) / s.ramp_min))

    def ground_truth(self) -> dict[str, Any]:
        """The incident this fault causes, as a scenario's ground_truth would state it."""
        return {
            "incident_expected": True,
            "root_cause_component": f"{self.spec.target}.{self.component}",
            "layer": self.layer,
            "remediation": list(self.remediation),
            "requires_approval": self.requires_approval,
        }

    def shift(self, X: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        return X

    def pipeline(self, X: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        return X

    def work_factor(self, level: float) -> float:
        return 1.0

    def capacity_factor(self, level: float) -> float:
        return 1.0

    def on_start(self, world: SimWorld, service: ServiceState) -> None:
        return None


class _FeatureFault(Fault):
    """A fault acting on a subset of features (``params.features``, default chosen by the kind)."""

    default_features: ClassVar[str]  # attribute of the kind naming the default features

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return ("features",)

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        names = spec.params.get("features", getattr(kind, cls.default_features))
        if not isinstance(names, list | tuple) or not names:
            raise ValueError("params.features must be a non-empty list of feature names")
        kind.index(list(names))

    @property
    def columns(self) -> list[int]:
        return self.kind.index(list(self.spec.params.get("features", getattr(self.kind, self.default_features))))


class DataDrift(_FeatureFault):
    """Covariate shift: the mean of several features moves by ``magnitude`` standard deviations."""

    type = "data_drift"
    layer = "data"
    component = "features"
    remediation = ("retrain_model",)
    requires_approval = True
    default_features = "drift_features"

    def shift(self, X: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        X = X.copy()
        cols = self.columns
        X[:, cols] += level * self.spec.magnitude * self.kind.stds[cols]
        return X


class PipelineNulls(_FeatureFault):
    """The feature pipeline emits NaN for some features, each row with probability ``magnitude``."""

    type = "pipeline_nulls"
    layer = "data"
    component = "pipeline"
    remediation = ("restart_pipeline",)
    requires_approval = False
    cleared_by = "restart_pipeline"
    default_features = "null_features"

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        if spec.magnitude > 1:
            raise ValueError(f"magnitude is a null rate and must be in (0, 1], got {spec.magnitude}")

    def pipeline(self, X: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        X = X.copy()
        cols = self.columns
        mask = rng.random((len(X), len(cols))) < level * self.spec.magnitude
        sub = X[:, cols]
        sub[mask] = np.nan
        X[:, cols] = sub
        return X


class LatencySaturation(Fault):
    """GPU saturation: a noisy co-tenant cuts each replica's throughput by the factor ``magnitude``.

    Requests also run a little slower (model time x 1 + 0.1 (magnitude - 1)); the queue
    does the rest. More replicas restore the capacity, so scaling up fixes it.
    """

    type = "latency_saturation"
    layer = "infrastructure"
    component = "serving"
    remediation = ("scale_up",)
    requires_approval = False

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        if spec.magnitude <= 1:
            raise ValueError(f"magnitude is a throughput loss factor and must be > 1, got {spec.magnitude}")

    def work_factor(self, level: float) -> float:
        return 1.0 + 0.1 * (self.spec.magnitude - 1.0) * level

    def capacity_factor(self, level: float) -> float:
        return 1.0 / (1.0 + (self.spec.magnitude - 1.0) * level)


class BadModelDeploy(Fault):
    """At ``start_min`` a new version goes live that was trained on a different feature layout.

    It validated well offline (its reference accuracy is high) but at serving it reads
    ``magnitude`` × d of the columns in the wrong order: predictions shift, accuracy drops,
    features do not change.
    """

    type = "bad_model_deploy"
    layer = "model"
    component = "model"
    remediation = ("rollback_model",)
    requires_approval = True

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        if spec.magnitude > 1:
            raise ValueError(f"magnitude is the fraction of mis-ordered columns, in (0, 1]; got {spec.magnitude}")

    def layout(self) -> tuple[int, ...]:
        d = len(self.kind.features)
        k = max(2, round(self.spec.magnitude * d))
        return tuple(list(range(1, k)) + [0] + list(range(k, d)))

    def on_start(self, world: SimWorld, service: ServiceState) -> None:
        bad = trained_version(
            self.kind.name,
            world.scenario.seed + 101,
            version=service.next_version(),
            layout=self.layout(),
            note="trained on a feature layout that differs from serving",
        )
        world.deploy(service, bad, kind="deploy", detail={"reason": "release"})


FAULTS: dict[str, type[Fault]] = {f.type: f for f in (DataDrift, BadModelDeploy, LatencySaturation, PipelineNulls)}
