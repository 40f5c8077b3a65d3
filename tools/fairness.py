"""Performance per segment (a categorical feature): is a drop in accuracy concentrated in one group?"""

from __future__ import annotations

import numpy as np
from scipy import stats

from tools._validate import as_float_array, binary_labels, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result

MAX_SEGMENTS = 12
"""A column with more distinct values than this is not treated as a segment."""


def categorical_columns(reference: np.ndarray, *, max_levels: int = MAX_SEGMENTS) -> list[int]:
    """Columns of a reference matrix whose non-NaN values are integers with at most ``max_levels`` distinct values."""
    ref = as_float_array(reference, "reference", ndim=(2,), allow_nan=True)
    out = []
    for j in range(ref.shape[1]):
        col = ref[:, j][~np.isnan(ref[:, j])]
        if col.size and np.all(col == np.round(col)) and 2 <= np.unique(col).size <= max_levels:
            out.append(j)
    return out


def _accuracy(y: np.ndarray, s: np.ndarray) -> float:
    return float(((s >= 0.5) == y).mean())


def segment_performance(ref_segments: np.ndarray, ref_labels: np.ndarray, ref_scores: np.ndarray,
                        cur_segments: np.ndarray, cur_labels: np.ndarray, cur_scores: np.ndarray, *,
                        min_per_segment: int = 30, alpha: float = 0.001, min_drop: float = 0.1) -> ToolResult:
    """Accuracy per segment now vs reference; ``concentrated`` when one segment dropped by ``min_drop`` (p < ``alpha``) and the rest held.

    "The rest held" means the other segments together dropped by less than half the worst
    segment's drop; the worst segment is the one with the largest significant drop.
    """
    rg = as_float_array(ref_segments, "ref_segments", allow_nan=True)
    ry = binary_labels(ref_labels, "ref_labels")
    rs = as_float_array(ref_scores, "ref_scores")
    cg = as_float_array(cur_segments, "cur_segments", allow_nan=True)
    cy = binary_labels(cur_labels, "cur_labels")
    cs = as_float_array(cur_scores, "cur_scores")
    if not (rg.shape == ry.shape == rs.shape):
        raise ToolInputError("ref_segments, ref_labels and ref_scores must have the same length")
    if not (cg.shape == cy.shape == cs.shape):
        raise ToolInputError("cur_segments, cur_labels and cur_scores must have the same length")
    alpha = probability(alpha, "alpha")
    min_drop = probability(min_drop, "min_drop")
    inputs = {"n_reference": ry.size, "n_current": cy.size, "min_per_segment": min_per_segment, "alpha": alpha,
              "min_drop": min_drop}
    levels = [v for v in np.unique(rg[~np.isnan(rg)]) if (cg == v).sum() >= min_per_segment
              and (rg == v).sum() >= min_per_segment]
    if len(levels) < 2:
        return insufficient("segment_performance", f"need two segments with {min_per_segment} rows in each window",
                            inputs=inputs)
    per: dict[str, dict[str, float | int]] = {}
    for v in levels:
        r, c = rg == v, cg == v
        ra, ca = _accuracy(ry[r], rs[r]), _accuracy(cy[c], cs[c])
        pooled = (ra * r.sum() + ca * c.sum()) / (r.sum() + c.sum())
        se = np.sqrt(pooled * (1 - pooled) * (1 / r.sum() + 1 / c.sum()))
        p = float(stats.norm.sf((ra - ca) / se)) if se > 0 else (0.0 if ra > ca else 1.0)
        per[f"{v:g}"] = {"reference_accuracy": ra, "current_accuracy": ca, "drop": ra - ca, "p_value": p,
                         "n": int(c.sum())}
    significant = {k: v for k, v in per.items() if v["p_value"] < alpha and v["drop"] >= min_drop}
    worst = max(significant or per, key=lambda k: per[k]["drop"])
    rest_ref = np.isin(rg, [float(k) for k in per if k != worst])
    rest_cur = np.isin(cg, [float(k) for k in per if k != worst])
    rest_drop = _accuracy(ry[rest_ref], rs[rest_ref]) - _accuracy(cy[rest_cur], cs[rest_cur])
    worst_drop = float(per[worst]["drop"])
    figures = {
        "segments": per,
        "worst_segment": worst,
        "worst_drop": worst_drop,
        "worst_p_value": per[worst]["p_value"],
        "rest_drop": rest_drop,
        "concentrated": bool(worst in significant and rest_drop < worst_drop / 2.0),
    }
    return tool_result("segment_performance", inputs=inputs, figures=figures)
