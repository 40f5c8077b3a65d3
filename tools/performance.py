"""Model performance from matured labels: accuracy, ROC AUC and F1, and whether it dropped against a reference."""

from __future__ import annotations

import numpy as np
from scipy import stats

from tools._validate import as_float_array, binary_labels, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result
from tools.twosample import rank_auc


def _labelled(labels: object, scores: object, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    y = binary_labels(labels, f"{prefix}labels")
    s = as_float_array(scores, f"{prefix}scores")
    if y.shape != s.shape:
        raise ToolInputError(f"{prefix}labels has {y.size} values but {prefix}scores has {s.size}")
    return y, s


def _metrics(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, float | int | None]:
    """Accuracy, ROC AUC (None with one class), F1 and positive rates of non-empty labels and scores."""
    predicted = (s >= threshold).astype(int)
    true_pos = int((predicted & y).sum())
    wrong = int((predicted != y).sum())
    return {
        "accuracy": (y.size - wrong) / y.size,
        "roc_auc": rank_auc(y, s),
        "f1": 2.0 * true_pos / (2.0 * true_pos + wrong) if true_pos else 0.0,
        "positive_rate": float(y.mean()),
        "predicted_positive_rate": float(predicted.mean()),
        "n": int(y.size),
    }


def classification_performance(labels: np.ndarray, scores: np.ndarray, *, threshold: float = 0.5) -> ToolResult:
    """Accuracy, ROC AUC (None when only one class is present), F1 and n of scores against 0/1 labels."""
    y, s = _labelled(labels, scores)
    threshold = float(as_float_array([threshold], "threshold")[0])
    inputs = {"n": y.size, "threshold": threshold}
    if y.size == 0:
        return insufficient("performance", "no labels", inputs=inputs)
    return tool_result("performance", inputs=inputs, figures=_metrics(y, s, threshold))


def performance_drop(
    ref_labels: np.ndarray,
    ref_scores: np.ndarray,
    cur_labels: np.ndarray,
    cur_scores: np.ndarray,
    *,
    min_labels: int = 100,
    alpha: float = 0.01,
    min_drop: float = 0.05,
    threshold: float = 0.5,
) -> ToolResult:
    """Did accuracy drop? Degraded when the drop >= ``min_drop`` and a one-sided two-proportion z-test p < ``alpha``."""
    ry, rs = _labelled(ref_labels, ref_scores, "ref_")
    cy, cs = _labelled(cur_labels, cur_scores, "cur_")
    alpha = probability(alpha, "alpha")
    min_drop = probability(min_drop, "min_drop", inclusive=True)
    if isinstance(min_labels, bool) or not isinstance(min_labels, (int, np.integer)) or min_labels < 1:
        raise ToolInputError(f"min_labels must be a positive integer, got {min_labels!r}")
    inputs = {"n_reference": ry.size, "n_labels": cy.size, "min_labels": int(min_labels), "alpha": alpha,
              "min_drop": min_drop}
    if min(ry.size, cy.size) < min_labels:
        return insufficient("performance_drop",
                            f"need at least {min_labels} labels in each window, got {ry.size} and {cy.size}",
                            inputs=inputs)
    ref = _metrics(ry, rs, threshold)
    cur = _metrics(cy, cs, threshold)
    drop = ref["accuracy"] - cur["accuracy"]  # type: ignore[operator]
    pooled = (ref["accuracy"] * ry.size + cur["accuracy"] * cy.size) / (ry.size + cy.size)  # type: ignore[operator]
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / ry.size + 1.0 / cy.size))
    p_value = float(stats.norm.sf(drop / se)) if se > 0 else (0.0 if drop > 0 else 1.0)
    figures = {
        "reference_accuracy": ref["accuracy"],
        "current_accuracy": cur["accuracy"],
        "drop": drop,
        "reference_auc": ref["roc_auc"],
        "current_auc": cur["roc_auc"],
        "p_value": p_value,
        "degraded": bool(drop >= min_drop and p_value < alpha),
        "n_labels": int(cy.size),
        "n_reference_labels": int(ry.size),
    }
    return tool_result("performance_drop", inputs=inputs, figures=figures)
