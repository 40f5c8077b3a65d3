"""Data quality of a feature window: null rates per feature (against a reference) and schema changes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from tools._validate import as_matrix, column_names, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result

SIGNIFICANCE = 0.001
"""One-sided level at which a column's null rate counts as clearly above its reference rate."""


def _excess_p_values(rate: np.ndarray, n: int, ref_rate: np.ndarray, n_ref: int) -> np.ndarray:
    """One-sided two-proportion z-test p-values that the current null rate exceeds the reference rate."""
    pooled = (rate * n + ref_rate * n_ref) / (n + n_ref)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n + 1.0 / n_ref))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (rate - ref_rate) / se
    z = np.where(se > 0, z, np.where(rate > ref_rate, np.inf, 0.0))
    return stats.norm.sf(z)


def null_rates(
    features: np.ndarray,
    feature_names: Sequence[str],
    *,
    reference: np.ndarray | None = None,
    threshold: float = 0.05,
) -> ToolResult:
    """Share of NaN per feature; a feature has nulls when its rate > ``threshold`` and clearly above the reference.

    "Clearly above" is a one-sided two-proportion z-test at ``SIGNIFICANCE``; without a reference the
    reference rate is taken as zero, so only the threshold applies.
    """
    x = as_matrix(features, "features")
    names = column_names(feature_names, x.shape[1])
    threshold = probability(threshold, "threshold")
    inputs = {"n_rows": x.shape[0], "n_features": len(names), "threshold": threshold,
              "has_reference": reference is not None}
    if x.shape[0] == 0:
        return insufficient("null_rate", "the feature window has no rows", inputs=inputs)
    rate = np.isnan(x).mean(axis=0)
    figures: dict[str, object] = {"null_rate": dict(zip(names, rate, strict=True))}
    flagged = rate > threshold
    if reference is not None:
        ref = as_matrix(reference, "reference")
        if ref.shape[1] != x.shape[1]:
            raise ToolInputError(f"reference has {ref.shape[1]} columns but features has {x.shape[1]}")
        if ref.shape[0] == 0:
            raise ToolInputError("reference has no rows")
        ref_rate = np.isnan(ref).mean(axis=0)
        flagged &= _excess_p_values(rate, x.shape[0], ref_rate, ref.shape[0]) < SIGNIFICANCE
        figures["reference_null_rate"] = dict(zip(names, ref_rate, strict=True))
    i = int(np.argmax(rate))
    figures |= {
        "max_null_rate": rate[i],
        "max_feature": names[i],
        "columns_with_nulls": [n for n, f in zip(names, flagged, strict=True) if f],
        "threshold": threshold,
        "n_rows": x.shape[0],
    }
    return tool_result("null_rate", inputs=inputs, figures=figures)


def _names(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise ToolInputError(f"{what} must be a list of column names (strings)")
    return list(values)


def schema_check(expected: Sequence[str], observed: Sequence[str]) -> ToolResult:
    """Columns missing from, or unexpected in, the observed schema; ``ok`` when they match as sets."""
    exp = _names(expected, "expected")
    obs = _names(observed, "observed")
    missing = [c for c in exp if c not in set(obs)]
    unexpected = [c for c in obs if c not in set(exp)]
    duplicated = sorted({c for c in obs if obs.count(c) > 1})
    figures = {
        "missing": missing,
        "unexpected": unexpected,
        "duplicated": duplicated,
        "ok": not (missing or unexpected or duplicated),
    }
    return tool_result("schema", inputs={"n_expected": len(exp), "n_observed": len(obs)}, figures=figures)
