"""Distribution drift between a reference window and a current window: PSI and two-sample KS per feature."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from tools._validate import as_float_array, paired_matrices, positive_number, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result
from tools.twosample import ks_columns

MIN_SAMPLES = 30
"""Fewest non-NaN values per window a column needs before its drift is measured."""

EPSILON = 1e-4
"""Floor on a bin's share so an empty bin gives a large but finite PSI term."""

_CHUNK_CELLS = 1 << 22  # bounds the (rows, columns, edges) comparison cube in memory


def _quantile_edges(ref: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges per column, shape (d, k): reference quantiles, with point masses given their own bin.

    A value repeated across quantiles (ties, constant columns) gets an extra edge just above it, so
    ``[v, next(v))`` holds exactly the mass at ``v`` and a move above or below it shows up as drift.
    Missing edges are +inf, which only ever adds bins that are empty in both windows.
    """
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns; they are reported as insufficient
        edges = np.nanquantile(ref, levels, axis=0).T
    edges = np.where(np.isnan(edges), np.inf, edges)
    tied = np.zeros_like(edges, dtype=bool)
    tied[:, 1:] |= edges[:, 1:] == edges[:, :-1]
    tied[:, :-1] |= edges[:, :-1] == edges[:, 1:]
    above = np.where(tied & np.isfinite(edges), np.nextafter(edges, np.inf), np.inf)
    return np.sort(np.concatenate([edges, above], axis=1), axis=1)


def _bin_shares(x: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of each column's non-NaN values in each bin, shape (d, k + 1), and the non-NaN counts (d,)."""
    n, d = x.shape
    n_bins = edges.shape[1] + 1
    valid = ~np.isnan(x)
    idx = np.empty((n, d), dtype=np.int64)
    step = max(1, _CHUNK_CELLS // max(1, d * edges.shape[1]))
    for start in range(0, n, step):  # blocks of rows, to bound memory; each block is vectorised
        block = x[start : start + step]
        idx[start : start + step] = (block[:, :, None] >= edges[None, :, :]).sum(axis=2)
    flat = (idx + np.arange(d) * n_bins)[valid]
    counts = np.bincount(flat, minlength=d * n_bins).reshape(d, n_bins).astype(float)
    n_valid = valid.sum(axis=0)
    return counts / np.maximum(n_valid, 1)[:, None], n_valid


def psi_values(ref: np.ndarray, cur: np.ndarray, bins: int) -> np.ndarray:
    """PSI per column of two (n, d) matrices; NaN where a window has fewer than MIN_SAMPLES values."""
    edges = _quantile_edges(ref, bins)
    p_ref, n_ref = _bin_shares(ref, edges)
    p_cur, n_cur = _bin_shares(cur, edges)
    p_ref = np.maximum(p_ref, EPSILON)
    p_cur = np.maximum(p_cur, EPSILON)
    values = ((p_cur - p_ref) * np.log(p_cur / p_ref)).sum(axis=1)
    return np.where((n_ref >= MIN_SAMPLES) & (n_cur >= MIN_SAMPLES), values, np.nan)


def ks_values(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """KS statistic and raw p-value per column of two (n, d) matrices; NaN where a window is too small."""
    statistic, p_value = ks_columns(ref, cur)
    enough = ((~np.isnan(ref)).sum(axis=0) >= MIN_SAMPLES) & ((~np.isnan(cur)).sum(axis=0) >= MIN_SAMPLES)
    return np.where(enough, statistic, np.nan), np.where(enough, p_value, np.nan)


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 2 <= bins <= 1000:
        raise ToolInputError(f"bins must be an integer in [2, 1000], got {bins!r}")
    return int(bins)


def _per_feature(names: list[str], values: np.ndarray) -> dict[str, float | None]:
    return {name: (None if np.isnan(v) else float(v)) for name, v in zip(names, values, strict=True)}


def _argmax(names: list[str], values: np.ndarray) -> tuple[float, str]:
    i = int(np.nanargmax(values))
    return float(values[i]), names[i]


def psi(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    bins: int = 10,
    threshold: float = 0.2,
) -> ToolResult:
    """Population stability index per feature over reference-quantile bins; features above ``threshold`` drifted."""
    ref, cur, names = paired_matrices(reference, current, feature_names)
    bins = _check_bins(bins)
    threshold = positive_number(threshold, "threshold")
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names), "bins": bins,
              "threshold": threshold}
    values = psi_values(ref, cur, bins)
    if np.isnan(values).all():
        return insufficient("psi", f"every feature has fewer than {MIN_SAMPLES} non-NaN values in a window",
                            inputs=inputs)
    max_psi, max_feature = _argmax(names, values)
    figures = {
        "psi": _per_feature(names, values),
        "max_psi": max_psi,
        "max_feature": max_feature,
        "drifted": [n for n, v in zip(names, values, strict=True) if v > threshold],
        "insufficient_features": [n for n, v in zip(names, values, strict=True) if np.isnan(v)],
        "threshold": threshold,
        "n_reference": ref.shape[0],
        "n_current": cur.shape[0],
    }
    return tool_result("psi", inputs=inputs, figures=figures)


def ks_drift(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    alpha: float = 0.001,
) -> ToolResult:
    """Two-sample Kolmogorov-Smirnov test per feature, Bonferroni-corrected; D is the effect size beside p.

    ``p_value`` is the corrected p-value (raw p times the number of features tested, capped at 1), so a
    feature drifted when its ``p_value`` < ``alpha``; ``p_value_raw`` keeps the uncorrected one.
    """
    ref, cur, names = paired_matrices(reference, current, feature_names)
    alpha = probability(alpha, "alpha")
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names), "alpha": alpha}
    statistic, p_raw = ks_values(ref, cur)
    tested = ~np.isnan(statistic)
    if not tested.any():
        return insufficient("ks", f"every feature has fewer than {MIN_SAMPLES} non-NaN values in a window",
                            inputs=inputs)
    p_adj = np.minimum(1.0, p_raw * tested.sum())
    max_statistic, max_feature = _argmax(names, statistic)
    figures = {
        "statistic": _per_feature(names, statistic),
        "p_value": _per_feature(names, p_adj),
        "p_value_raw": _per_feature(names, p_raw),
        "drifted": [n for n, p in zip(names, p_adj, strict=True) if p < alpha],
        "insufficient_features": [n for n, t in zip(names, tested, strict=True) if not t],
        "max_statistic": max_statistic,
        "max_feature": max_feature,
        "alpha": alpha,
        "n_tests": int(tested.sum()),
        "n_reference": ref.shape[0],
        "n_current": cur.shape[0],
    }
    return tool_result("ks", inputs=inputs, figures=figures)


def prediction_drift(
    reference_scores: np.ndarray,
    current_scores: np.ndarray,
    *,
    threshold: float = 0.2,
    alpha: float = 0.001,
    bins: int = 10,
) -> ToolResult:
    """Drift of a model's output scores: PSI and KS on 1-D scores; drifted when PSI > threshold and KS p < alpha."""
    ref = as_float_array(reference_scores, "reference_scores")[:, None]
    cur = as_float_array(current_scores, "current_scores")[:, None]
    bins = _check_bins(bins)
    threshold = positive_number(threshold, "threshold")
    alpha = probability(alpha, "alpha")
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "threshold": threshold, "alpha": alpha}
    if min(ref.shape[0], cur.shape[0]) < MIN_SAMPLES:
        return insufficient("prediction_drift", f"need at least {MIN_SAMPLES} scores in each window", inputs=inputs)
    value = float(psi_values(ref, cur, bins)[0])
    statistic, p_value = (float(a[0]) for a in ks_values(ref, cur))
    figures = {
        "psi": value,
        "ks_statistic": statistic,
        "p_value": p_value,
        "drifted": bool(value > threshold and p_value < alpha),
        "threshold": threshold,
        "reference_mean": float(ref.mean()),
        "current_mean": float(cur.mean()),
        "n_reference": ref.shape[0],
        "n_current": cur.shape[0],
    }
    return tool_result("prediction_drift", inputs=inputs, figures=figures)
