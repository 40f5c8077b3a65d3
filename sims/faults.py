"""The fault library: each fault is one small class that changes a service's generating process.

A fault acts from ``start_min``, ramps linearly to full strength over ``ramp_min`` and
stops at ``end_min`` (if given) or when an action clears its cause (``cleared_by``). The
world asks every fault of a service, each tick, through four hooks:

- ``shift(X, level, rng)`` — the true feature process (labels follow the shifted rows);
- ``pipeline(X, level, rng)`` — what the feature pipeline delivers to the model;
- ``work_factor(level)`` — how much more model time each request needs;
- ``capacity_factor(level)`` — the share of its throughput each replica keeps;
- ``on_start(world, service)`` — a one-off change of the platform (e.g. a deploy);

and, for faults beyond the phase-1 four: ``concept`` (the true log-odds), ``scores`` (the
served scores), ``observed_labels`` (the labels the platform receives), ``rate_factor`` (request rate), ``error_rate`` (failed
requests) and ``memory`` (extra memory use). ``applies(service)`` lets a platform change
route around a fault (a rollback away from a leaky build, a switch away from a broken
feature store). Faults usually target a service; ``target_kind = "feature_store"`` faults
target a feature store and act on every service reading from it.

Each class also carries the ground truth of the incident it causes (layer, component,
remediation, whether the fix needs approval), so scenarios can be checked against it.
"""

from __future__ import annotations

import dataclasses
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
    target_kind: ClassVar[str] = "service"
    kinds: ClassVar[tuple[str, ...] | None] = None  # service kinds the fault applies to (None: all)
    # What ``magnitude`` is, where ``check`` bounds it: a share, in (0, 1], or a factor, > 1 (None: unbounded).
    magnitude_share: ClassVar[str | None] = None
    magnitude_factor: ClassVar[str | None] = None

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
        if cls.kinds is not None and kind.name not in cls.kinds:
            raise ValueError(f"{cls.type} only applies to service kinds {list(cls.kinds)}, not {kind.name!r}")
        if cls.magnitude_share is not None and spec.magnitude > 1:
            raise ValueError(f"magnitude is {cls.magnitude_share} and must be in (0, 1], got {spec.magnitude}")
        if cls.magnitude_factor is not None and spec.magnitude <= 1:
            raise ValueError(f"magnitude is {cls.magnitude_factor} and must be > 1, got {spec.magnitude}")

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

    def concept(self, z: np.ndarray, logit: np.ndarray, level: float) -> np.ndarray:
        return logit

    def observed_labels(self, y: np.ndarray, pred: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        return y

    def scores(self, pred: np.ndarray, level: float) -> np.ndarray:
        return pred

    def rate_factor(self, level: float) -> float:
        return 1.0

    def error_rate(self, level: float) -> float:
        return 0.0

    def memory(self, level: float) -> float:
        return 0.0

    def applies(self, service: ServiceState) -> bool:
        return True

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
    magnitude_share = "a null rate"

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
    magnitude_factor = "a throughput loss factor"

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
    magnitude_share = "the fraction of mis-ordered columns"

    def layout(self) -> tuple[int, ...]:
        d = len(self.kind.features)
        k = max(2, round(self.spec.magnitude * d))
        return tuple(list(range(1, k)) + [0] + list(range(k, d)))

    def on_start(self, world: SimWorld, service: ServiceState) -> None:
        bad = trained_version(
            self.kind.name,
            service.spec.model_seed + 101,
            version=service.next_version(),
            layout=self.layout(),
            note="trained on a feature layout that differs from serving",
        )
        world.deploy(service, bad, kind="deploy", detail={"reason": "release"})


class SingleFeatureDrift(DataDrift):
    """One feature (``params.features``, default the kind's first drift feature) shifts by ``magnitude`` std."""

    type = "single_feature_drift"

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        if len(spec.params.get("features", [None])) != 1:
            raise ValueError("single_feature_drift takes exactly one feature")

    @property
    def columns(self) -> list[int]:
        return self.kind.index(list(self.spec.params.get("features", self.kind.drift_features[:1])))


class ConceptDrift(Fault):
    """The label relationship changes: the outcome now follows features 1 and 2 swapped, to share ``magnitude``.

    Features and predictions look the same; only matured-label accuracy reveals it.
    """

    type = "concept_drift"
    layer = "model"
    component = "model"
    remediation = ("retrain_model",)
    requires_approval = True
    magnitude_share = "the share of the changed relationship"

    def concept(self, z: np.ndarray, logit: np.ndarray, level: float) -> np.ndarray:
        swapped = z.copy()
        swapped[:, [1, 2]] = z[:, [2, 1]]
        w = level * self.spec.magnitude
        return (1.0 - w) * logit + w * self.kind.logit(swapped)


class GradualDecay(ConceptDrift):
    """Concept drift that creeps in over hours (``ramp_min`` ≥ 60): the model decays slowly."""

    type = "gradual_decay"

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        if spec.ramp_min < 60:
            raise ValueError(f"gradual_decay needs ramp_min >= 60, got {spec.ramp_min}")


class LabelDrift(Fault):
    """Prior shift: the base rate of the positive class moves by ``magnitude`` in log-odds; features unchanged."""

    type = "label_drift"
    layer = "data"
    component = "labels"
    remediation = ("retrain_model",)
    requires_approval = True

    def concept(self, z: np.ndarray, logit: np.ndarray, level: float) -> np.ndarray:
        return logit + level * self.spec.magnitude * float(self.spec.params.get("direction", 1))

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return ("direction",)


class FairnessDrift(Fault):
    """In one patient segment (``params.segment``, default 2) the relationship flips by ``magnitude``."""

    type = "fairness_drift"
    layer = "data"
    component = "segment"
    remediation = ("retrain_model",)
    requires_approval = True
    kinds = ("diagnostic",)

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return ("segment",)

    def concept(self, z: np.ndarray, logit: np.ndarray, level: float) -> np.ndarray:
        col = self.kind.index([self.kind.segment_feature])[0]
        segment = np.rint(z[:, col] * self.kind.stds[col] + self.kind.means[col])
        hit = segment == int(self.spec.params.get("segment", 2))
        return np.where(hit, logit * (1.0 - 2.0 * level * self.spec.magnitude), logit)


class SchemaChange(Fault):
    """An upstream schema change: one feature (``params.features``) arrives in other units (x ``magnitude``)."""

    type = "schema_change"
    layer = "data"
    component = "pipeline"
    remediation = ("restart_pipeline",)
    requires_approval = False
    cleared_by = "restart_pipeline"

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return ("features",)

    @classmethod
    def check(cls, spec: FaultSpec, kind: ServiceKind) -> None:
        super().check(spec, kind)
        kind.index(list(spec.params.get("features", kind.drift_features[:1])))

    def pipeline(self, X: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        X = X.copy()
        cols = self.kind.index(list(self.spec.params.get("features", self.kind.drift_features[:1])))
        X[:, cols] *= self.spec.magnitude
        return X

    def level(self, t: float) -> float:
        return 1.0 if super().level(t) > 0 else 0.0  # a schema switches, it does not ramp


class TrafficSurge(Fault):
    """Request rate rises by the factor ``magnitude`` (a campaign, a retry storm); scaling up absorbs it."""

    type = "traffic_surge"
    layer = "infrastructure"
    component = "traffic"
    remediation = ("scale_up",)
    requires_approval = False
    magnitude_factor = "a rate factor"

    def rate_factor(self, level: float) -> float:
        return 1.0 + (self.spec.magnitude - 1.0) * level


class MemoryLeak(Fault):
    """A new serving build (same model, leaky code) goes live at ``start_min``; memory climbs over ``ramp_min``.

    ``magnitude`` is the memory share the leak reaches (e.g. 0.55 on top of ~0.5): past 0.9
    replicas are OOM-killed and requests fail. Rolling back to the previous build fixes it.
    """

    type = "memory_leak"
    build: str | None = None  # the leaky build, once deployed
    layer = "application"
    component = "serving"
    remediation = ("rollback_model",)
    requires_approval = True

    def on_start(self, world: SimWorld, service: ServiceState) -> None:
        live = service.live
        self.build = service.next_version()
        world.deploy(
            service,
            dataclasses.replace(live, version=self.build, note=f"{live.version} model in a new serving build"),
            kind="deploy",
            detail={"reason": "release"},
        )

    def applies(self, service: ServiceState) -> bool:
        return self.build == service.live.version

    def memory(self, level: float) -> float:
        return level * self.spec.magnitude


class FeedbackContamination(Fault):
    """The label feed is contaminated by the model's own decisions (a feedback loop), for a ``magnitude`` share.

    Matured labels agree with predictions more than they should (accuracy looks better than
    it is), and the online calibration layer learning from that feedback makes the scores
    over-confident (the score distribution moves to the extremes). A retrain on these
    labels learns the model's own mistakes. Quarantining the feedback restores clean labels
    and resets the calibration to its last clean snapshot.
    """

    type = "feedback_contamination"
    layer = "data"
    component = "feedback"
    remediation = ("quarantine_feedback",)
    requires_approval = False
    cleared_by = "quarantine_feedback"

    def observed_labels(self, y: np.ndarray, pred: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        echo = rng.random(len(y)) < level * self.spec.magnitude
        return np.where(echo, (pred >= 0.5).astype(y.dtype), y)

    def scores(self, pred: np.ndarray, level: float) -> np.ndarray:
        p = np.clip(pred, 1e-6, 1 - 1e-6)
        return 1.0 / (1.0 + np.exp(-np.log(p / (1 - p)) * (1.0 + 3.0 * level * self.spec.magnitude)))


class SemanticDrift(Fault):
    """A new prompt version goes live; the response template mix drifts toward off-topic and made-up answers.

    ``magnitude`` is the share of responses drawn from the drifted mix at full strength.
    Pinning the previous prompt version fixes it.
    """

    type = "semantic_drift"
    layer = "application"
    component = "prompt"
    remediation = ("pin_prompt_version",)
    requires_approval = False
    cleared_by = "pin_prompt_version"
    kinds = ("chat",)

    def on_start(self, world: SimWorld, service: ServiceState) -> None:
        previous = service.prompts[-1]
        service.prompts.append(f"p{len(service.prompts) + 1}")
        world.record(service, "prompt_deploy", {"from": previous, "to": service.prompts[-1]})

    def shift(self, X: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
        return self.kind.drift_templates(X, level * self.spec.magnitude, rng)


class UpstreamOutage(Fault):
    """The target's primary deployment fails a ``magnitude`` share of requests; its dependents fail with it.

    Shifting traffic to the standby deployment routes around it.
    """

    type = "upstream_outage"
    layer = "infrastructure"
    component = "serving"
    remediation = ("shift_traffic",)
    requires_approval = True

    def error_rate(self, level: float) -> float:
        return level * self.spec.magnitude


class FeatureStoreOutage(PipelineNulls):
    """The feature store (the target) times out for a ``magnitude`` share of lookups: every reader gets nulls.

    Switching a service to the fallback store routes around it; restarting its pipeline does not.
    """

    type = "feature_store_outage"
    layer = "data"
    component = "store"
    remediation = ("switch_feature_store",)
    requires_approval = False
    cleared_by = None
    target_kind = "feature_store"

    def applies(self, service: ServiceState) -> bool:
        return service.store == self.spec.target

    def ground_truth(self) -> dict[str, Any]:
        return {**super().ground_truth(), "root_cause_component": f"{self.spec.target}.store"}


FAULTS: dict[str, type[Fault]] = {
    f.type: f
    for f in (
        DataDrift,
        BadModelDeploy,
        LatencySaturation,
        PipelineNulls,
        SingleFeatureDrift,
        ConceptDrift,
        GradualDecay,
        LabelDrift,
        FairnessDrift,
        SchemaChange,
        TrafficSurge,
        MemoryLeak,
        FeedbackContamination,
        SemanticDrift,
        UpstreamOutage,
        FeatureStoreOutage,
    )
}
