"""The contract every tool module keeps: docstrings, and JSON-safe ToolResults from every public tool."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil

import numpy as np
import pytest

import tools
from tools import (
    anomaly,
    canary,
    capacity,
    causal_rank,
    changepoint,
    data_quality,
    drift,
    estimation,
    forecast,
    multivariate_drift,
    performance,
    semantic_drift,
    slo,
)
from tools.results import ToolResult

OWN_MODULES = sorted(
    m.name for m in pkgutil.iter_modules(tools.__path__) if m.name not in {"results", "actions", "observations"}
)

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
Y = rng.integers(0, 2, 200)
CALLS = [
    lambda: drift.psi(X, X + 1),
    lambda: drift.ks_drift(X, X + 1),
    lambda: drift.prediction_drift(X[:, 0], X[:, 1]),
    lambda: drift.data_drift(X, X + 1),
    lambda: drift.label_drift(Y, 1 - Y),
    lambda: multivariate_drift.mmd_drift(X, X + 1, permutations=50),
    lambda: multivariate_drift.domain_classifier_drift(X, X + 1),
    lambda: data_quality.null_rates(X, ["a", "b"]),
    lambda: estimation.estimate_performance(Y, rng.random(200), rng.random(100)),
    lambda: canary.canary_verdict(X[:, 0] + 5, X[:, 1] + 5),
    lambda: data_quality.schema_check(["a"], ["b"]),
    lambda: performance.classification_performance(Y, rng.random(200)),
    lambda: performance.performance_drop(Y, rng.random(200), Y, rng.random(200)),
    lambda: slo.latency_slo(np.abs(X[:, 0]) * 100, slo_p95_ms=150),
    lambda: slo.error_rate_check(3, 100),
    lambda: changepoint.change_scan(X[:, 0]),
    lambda: capacity.replicas_for_slo(10, 100, 400, current_replicas=2),
    lambda: forecast.holt_winters_forecast(X[:, 0], period=0, horizon=5),
    lambda: forecast.time_to_breach(X[:, 0], 3.0, 0, 10),
    lambda: anomaly.anomaly_scan(X[:, 0]),
    lambda: semantic_drift.semantic_drift(["an answer about billing"] * 40, ["Sorry, I can't help."] * 40),
    lambda: causal_rank.rank_root_causes([{"service": "a", "layer": "data", "component": "a.features",
                                           "onset_min": 0, "strength": 1.0}]),
]


@pytest.mark.parametrize("name", OWN_MODULES)
def test_module_and_public_functions_have_docstrings(name):
    module = importlib.import_module(f"tools.{name}")
    assert module.__doc__ and module.__doc__.strip()
    for attr, obj in vars(module).items():
        if not attr.startswith("_") and getattr(obj, "__module__", None) == module.__name__ and callable(obj):
            assert obj.__doc__, f"tools.{name}.{attr} has no docstring"


@pytest.mark.parametrize("name", OWN_MODULES)
def test_tools_import_nothing_of_ours_but_tools(name):
    source = inspect.getsource(importlib.import_module(f"tools.{name}"))
    for layer in ("memory", "policies", "agents", "sims", "opsgraph", "bench"):
        assert f"from {layer}" not in source and f"import {layer}" not in source


@pytest.mark.parametrize("call", CALLS)
def test_every_tool_returns_a_json_safe_result(call):
    res = call()
    assert isinstance(res, ToolResult) and res.tool_call_id.startswith(f"tc-{res.tool}-")
    json.dumps(res.model_dump(mode="json"), allow_nan=False)
