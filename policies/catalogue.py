"""The action catalogue: which actions exist, how risky they are, how they are undone, what parameters they take."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Risk = Literal["low", "medium", "high", "critical"]
Layer = Literal["data", "model", "application", "infrastructure", "any"]
ParamType = Literal["str", "int", "float", "bool", "list", "dict"]

RISKS: tuple[str, ...] = ("low", "medium", "high", "critical")
DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.yaml")

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "list": (list, tuple), "dict": (dict,),
}


def risk_rank(risk: str) -> int:
    """Position of a risk level, low = 0 ... critical = 3."""
    return RISKS.index(risk)


class CatalogueError(ValueError):
    """The catalogue file is invalid, or an action or its parameters do not fit the catalogue."""


class ParamSpec(BaseModel):
    """One parameter of an action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ParamType
    description: str = ""
    required: bool = False


class ActionSpec(BaseModel):
    """One catalogue entry: what the action does, its risk, and how it is undone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    risk: Risk
    reversible: bool
    undo: str | None = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    layer: Layer

    @model_validator(mode="after")
    def _undo_matches_reversible(self) -> ActionSpec:
        if self.reversible and not self.undo:
            raise ValueError(f"action {self.name!r} is reversible but says nothing about how it is undone")
        if not self.reversible and self.undo:
            raise ValueError(f"action {self.name!r} is irreversible but has an undo ({self.undo!r})")
        return self


class Catalogue:
    """The set of actions OpsGraph may plan; nothing outside it is ever executed."""

    def __init__(self, specs: dict[str, ActionSpec]) -> None:
        self._specs = dict(specs)

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalogue:
        """Read a catalogue YAML (default: the packaged ``catalogue.yaml``)."""
        path = Path(path) if path is not None else DEFAULT_CATALOGUE
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogueError(f"cannot read catalogue {path}: {exc}") from exc
        actions = data.get("actions") if isinstance(data, dict) else None
        if not isinstance(actions, dict) or not actions:
            raise CatalogueError(f"{path}: expected a non-empty mapping 'actions: {{name: spec}}'")
        specs: dict[str, ActionSpec] = {}
        for name, body in actions.items():
            try:
                specs[name] = ActionSpec(name=name, **(body or {}))
            except (ValidationError, TypeError) as exc:
                raise CatalogueError(f"{path}: action {name!r}: {exc}") from exc
        return cls(specs)

    def get(self, name: str) -> ActionSpec | None:
        """The spec of one action, or None when it is not in the catalogue."""
        return self._specs.get(name)

    def names(self) -> list[str]:
        """Every action name, sorted."""
        return sorted(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def validate_params(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """Check parameters against the action's schema; return them unchanged or raise CatalogueError."""
        spec = self._specs.get(name)
        if spec is None:
            raise CatalogueError(f"unknown action {name!r}; the catalogue has: {', '.join(self.names())}")
        problems = [f"unknown parameter {key!r} (expected one of: {', '.join(sorted(spec.params)) or 'none'})"
                    for key in params if key not in spec.params]
        for key, param in spec.params.items():
            if key not in params:
                if param.required:
                    problems.append(f"missing required parameter {key!r} ({param.type}: {param.description})")
                continue
            value = params[key]
            # bool is an int in Python; a flag where a count is expected is still a mistake.
            wrong_bool = isinstance(value, bool) and param.type != "bool"
            if wrong_bool or not isinstance(value, _PYTHON_TYPES[param.type]):
                problems.append(f"parameter {key!r} must be {param.type}, got {type(value).__name__} {value!r}")
        if problems:
            raise CatalogueError(f"invalid parameters for {name!r}: " + "; ".join(problems))
        return params
