"""Declarative scenarios: the fleet, the faults injected into it and the ground truth, loaded from YAML.

    >>> from pathlib import Path
    >>> s = load_scenario(Path(__file__).parent / "scenarios" / "01_data_drift.yaml")
    >>> s.faults[0].type, s.ground_truth.layer
    ('data_drift', 'data')

Bad files raise :class:`ScenarioError`, whose message names the file and each bad field.
See docs/scenarios.md for the format.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sims.faults import FAULTS
from sims.services import KINDS

Layer = Literal["data", "model", "application", "infrastructure"]
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not validate; the message names file and fields."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServiceSpec(_Strict):
    """One service of the fleet."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    kind: str
    environment: str = "production"
    tier: int = Field(default=2, ge=0, le=3)
    replicas: int = Field(default=2, ge=1)
    max_replicas: int = Field(default=10, ge=1)
    slo_p95_ms: float = Field(default=250.0, gt=0)
    depends_on: list[str] = Field(default_factory=list)
    label_delay_min: float = Field(default=30.0, ge=0)
    peak_utilization: float = Field(default=0.6, gt=0, lt=1)  # provisioning: utilisation at the busiest healthy minute
    feature_store: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]*$")  # the store its features come from
    model_seed: int = 0  # seeds the v1 model's training data: the model is the team's, the scenario seed drives traffic

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in KINDS:
            raise ValueError(f"unknown service kind {v!r}; known kinds: {sorted(KINDS)}")
        return v

    @model_validator(mode="after")
    def _replicas_fit(self) -> ServiceSpec:
        if self.replicas > self.max_replicas:
            raise ValueError(f"replicas ({self.replicas}) exceeds max_replicas ({self.max_replicas})")
        return self


class FaultSpec(_Strict):
    """One injected fault: what, where, from when, how fast and how strong."""

    type: str
    target: str
    start_min: float = Field(ge=0)
    ramp_min: float = Field(default=0.0, ge=0)
    end_min: float | None = None  # the fault stops by itself at this minute (default: never)
    magnitude: float = Field(gt=0)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in FAULTS:
            raise ValueError(f"unknown fault type {v!r}; known types: {sorted(FAULTS)}")
        return v

    @model_validator(mode="after")
    def _end_after_start(self) -> FaultSpec:
        if self.end_min is not None and self.end_min <= self.start_min:
            raise ValueError(f"end_min ({self.end_min}) must be after start_min ({self.start_min})")
        return self


class Cause(_Strict):
    """A further root cause of a scenario with overlapping faults."""

    root_cause_component: str
    layer: Layer
    remediation: list[str] = Field(default_factory=list)
    requires_approval: bool = False


class GroundTruth(_Strict):
    """What a perfect operator would conclude and do (the primary cause; ``secondary`` for overlapping faults)."""

    incident_expected: bool
    root_cause_component: str | None = None
    layer: Layer | None = None
    remediation: list[str] = Field(default_factory=list)
    requires_approval: bool = False
    secondary: list[Cause] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete_when_expected(self) -> GroundTruth:
        if self.incident_expected and (self.root_cause_component is None or self.layer is None):
            raise ValueError("an expected incident needs root_cause_component and layer")
        return self


class Scenario(_Strict):
    """A fleet, its faults and the ground truth; the seed makes every run identical."""

    name: str
    description: str = ""
    seed: int
    duration_min: float = Field(gt=0)
    tick_min: float = Field(default=5.0, gt=0, le=60)
    start: datetime = DEFAULT_START
    services: list[ServiceSpec] = Field(min_length=1)
    faults: list[FaultSpec] = Field(default_factory=list)
    ground_truth: GroundTruth

    @field_validator("start")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"service names must be unique, got {names}")
        for s in self.services:
            missing = [d for d in s.depends_on if d not in names]
            if missing:
                raise ValueError(f"service {s.name!r} depends_on unknown service(s) {missing}")
        stores = sorted({s.feature_store for s in self.services if s.feature_store})
        overlap = set(stores) & set(names)
        if overlap:
            raise ValueError(f"feature store names must differ from service names: {sorted(overlap)}")
        if len(_topological(self.services)) != len(self.services):
            raise ValueError("depends_on has a cycle")
        for i, f in enumerate(self.faults):
            fault = FAULTS[f.type]
            if fault.target_kind == "feature_store":
                if f.target not in stores:
                    raise ValueError(f"faults[{i}].target {f.target!r} is not a feature store of the scenario; stores: {stores}")
                readers = [s for s in self.services if s.feature_store == f.target]
            else:
                if f.target not in names:
                    raise ValueError(f"faults[{i}].target {f.target!r} is not a service of the scenario; services: {names}")
                readers = [self.service(f.target)]
            try:
                for s in readers:
                    fault.check(f, KINDS[s.kind]())
            except ValueError as e:
                raise ValueError(f"faults[{i}] ({f.type}): {e}") from None
        if self.ground_truth.incident_expected and not self.faults:
            raise ValueError("ground_truth.incident_expected is true but the scenario injects no fault")
        return self

    def service(self, name: str) -> ServiceSpec:
        for s in self.services:
            if s.name == name:
                return s
        raise KeyError(name)


def _topological(services: list[ServiceSpec]) -> list[ServiceSpec]:
    """Services with each one after everything it depends on (shorter if there is a cycle)."""
    done: dict[str, ServiceSpec] = {}
    pending = list(services)
    while pending:
        ready = [s for s in pending if all(d in done for d in s.depends_on)]
        if not ready:
            break
        for s in ready:
            done[s.name] = s
            pending.remove(s)
    return list(done.values())


def upstream_first(scenario: Scenario) -> list[ServiceSpec]:
    """The scenario's services in an order where each comes after its dependencies."""
    return _topological(scenario.services)


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {where}: {e['msg']}")
    return "\n".join(lines)


def parse_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as a mapping; ScenarioError names ``source`` and each bad field."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(f"{source}: invalid scenario\n{_describe(e)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"{path}: not valid YAML: {e}") from None
    return parse_scenario(data, source=str(path))


def load_scenarios(directory: str | Path | None = None) -> list[Scenario]:
    """All ``*.yaml`` / ``*.yml`` scenarios of a folder (default: the bundled ones), sorted by file name."""
    directory = Path(directory) if directory is not None else BUNDLED
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    return [load_scenario(p) for p in files]


BUNDLED = Path(__file__).parent / "scenarios"
