"""Rank root-cause candidates from anomalous signals across layers, by onset, strength and the service graph.

``rank_root_causes(signals, depends_on=...)`` takes what the monitors saw: per signal the service, the
layer (data, model, application, infrastructure), the component, when it started (minutes on any
common clock) and how strong it is (a non-negative effect size, e.g. a z-score or PSI). Each distinct
component is a candidate, scored by three questions an SRE asks:

1. *Where does the anomaly flow from?* A random walk with restart over the call graph, started at the
   anomalous services in proportion to their strength and stepping from a service to what it depends
   on in proportion to how anomalous that dependency is (the idea behind MicroRCA and CloudRanger):
   a dependency that anomalous callers lead to, and that is itself anomalous, collects the most
   weight. Within a service, weight flows to the lower layer that explains the higher one (model and
   application symptoms to data and infrastructure signals of the same service).
2. *What came first?* Precedence is the share of the other signals that started no earlier than this
   one (within ``tolerance_min``): a cause precedes its effects.
3. *How strong is it?* The signal's strength over the strongest one's.

The score is ``graph x (1 + precedence) x (1 + strength)``, normalised to sum to 1 over candidates; the
figures keep each factor, so a reader sees why a candidate ranks where it does.

>>> ranked = rank_root_causes(
...     [{"service": "api", "layer": "application", "component": "api.errors", "onset_min": 12, "strength": 4},
...      {"service": "db", "layer": "infrastructure", "component": "db.serving", "onset_min": 10, "strength": 6}],
...     depends_on={"api": ["db"]})
>>> [c["component"] for c in ranked.figures["ranking"]]
['db.serving', 'api.errors']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tools.results import ToolInputError, ToolResult, insufficient, tool_result

Layer = Literal["data", "model", "application", "infrastructure"]

EXPLAINED_BY: dict[str, tuple[str, ...]] = {
    "model": ("data",),
    "application": ("infrastructure", "data", "model"),
    "data": (),
    "infrastructure": (),
}
"""Within one service, which layers can explain a signal of a layer (model drops follow data changes, ...)."""


class Signal(BaseModel):
    """One anomalous signal: where it is, when it started and how strong it is."""

    model_config = ConfigDict(frozen=True)

    service: str = Field(min_length=1)
    layer: Layer
    component: str = Field(min_length=1)
    onset_min: float
    strength: float = Field(ge=0.0)

    @field_validator("onset_min", "strength")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return value


def _signals(values: Sequence[Signal | Mapping]) -> list[Signal]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ToolInputError(f"signals must be a list of signals, got {type(values).__name__}")
    out = []
    for i, value in enumerate(values):
        try:
            out.append(value if isinstance(value, Signal) else Signal.model_validate(value))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ToolInputError(f"signal {i} is not valid: {problems}") from exc
    return out


def _walk(transition: np.ndarray, restart: np.ndarray, damping: float) -> np.ndarray:
    """Stationary weights of a random walk that follows ``transition`` and restarts at ``restart``."""
    n = restart.size
    # (I - d P^T) w = (1 - d) r; P rows sum to 1 or are all zero (a sink keeps what reaches it by restarting).
    sinks = transition.sum(axis=1) == 0
    transition = transition.copy()
    transition[sinks] = restart  # a dead end restarts the walk
    weights = np.linalg.solve(np.eye(n) - damping * transition.T, (1.0 - damping) * restart)
    return np.clip(weights, 0.0, None) / max(weights.clip(0.0).sum(), 1e-300)


def rank_root_causes(
    signals: Sequence[Signal | Mapping],
    *,
    depends_on: Mapping[str, Sequence[str]] | None = None,
    damping: float = 0.85,
    tolerance_min: float = 0.0,
) -> ToolResult:
    """Candidates (one per component) ranked by graph weight, precedence and strength; see the module docstring.

    ``depends_on`` maps a service to the services it calls (unknown names are ignored); ``damping`` is
    the walk's probability of taking a step rather than restarting; two onsets within ``tolerance_min``
    count as simultaneous.
    """
    items = _signals(signals)
    if not 0.0 < damping < 1.0:
        raise ToolInputError(f"damping must be in (0, 1), got {damping!r}")
    if not (math.isfinite(tolerance_min) and tolerance_min >= 0.0):
        raise ToolInputError(f"tolerance_min must be a finite number >= 0, got {tolerance_min!r}")
    graph = {str(k): [str(v) for v in vs] for k, vs in (depends_on or {}).items()}
    inputs = {"n_signals": len(items), "services": sorted({s.service for s in items}), "damping": damping,
              "tolerance_min": tolerance_min, "edges": sum(len(v) for v in graph.values())}
    if not items:
        return insufficient("rank_root_causes", "no signals to rank", inputs=inputs)

    # One candidate per component: its earliest onset and its strongest signal.
    candidates: dict[str, dict] = {}
    for s in items:
        c = candidates.setdefault(s.component, {"component": s.component, "service": s.service, "layer": s.layer,
                                                "onset_min": s.onset_min, "strength": s.strength, "signals": 0})
        c["onset_min"], c["strength"] = min(c["onset_min"], s.onset_min), max(c["strength"], s.strength)
        c["signals"] += 1
    names = list(candidates)
    strength = np.array([candidates[n]["strength"] for n in names])
    onset = np.array([candidates[n]["onset_min"] for n in names])
    top = float(strength.max())
    relative = strength / top if top > 0 else np.ones_like(strength)

    # Edges: caller's candidates -> callee's candidates, and higher layer -> explaining layer in one service,
    # each weighted by the target's relative strength (a step goes where the anomaly is).
    n = len(names)
    transition = np.zeros((n, n))
    for a, name_a in enumerate(names):
        ca = candidates[name_a]
        for b, name_b in enumerate(names):
            if a == b:
                continue
            cb = candidates[name_b]
            calls = cb["service"] in graph.get(ca["service"], ())
            explains = cb["service"] == ca["service"] and cb["layer"] in EXPLAINED_BY[ca["layer"]]
            if calls or explains:
                transition[a, b] = relative[b] + 1e-9
    rows = transition.sum(axis=1, keepdims=True)
    transition = np.divide(transition, rows, out=np.zeros_like(transition), where=rows > 0)
    restart = (relative + 1e-12) / (relative + 1e-12).sum()
    graph_weight = _walk(transition, restart, damping)

    later = onset[None, :] >= onset[:, None] - tolerance_min  # [i, j]: j started no earlier than i
    precedence = (later.sum(axis=1) - 1) / (n - 1) if n > 1 else np.ones(n)
    score = graph_weight * (1.0 + precedence) * (1.0 + relative)
    score = score / score.sum()
    order = np.argsort(-score, kind="stable")
    ranking = [{**{k: candidates[names[i]][k] for k in ("component", "service", "layer", "onset_min", "strength",
                                                         "signals")},
                "score": float(score[i]), "graph_weight": float(graph_weight[i]),
                "precedence": float(precedence[i]), "relative_strength": float(relative[i])} for i in order]
    figures = {"ranking": ranking, "top_component": ranking[0]["component"], "top_layer": ranking[0]["layer"],
               "top_score": ranking[0]["score"], "candidates": n,
               "margin": ranking[0]["score"] - (ranking[1]["score"] if n > 1 else 0.0)}
    return tool_result("rank_root_causes", inputs=inputs, figures=figures)
