"""Label-free performance estimation: a classifier's expected accuracy, F1 and ROC AUC from calibrated confidences.

The idea behind NannyML's CBPE: while labels are delayed, a calibrated score *is* the probability
that the row is positive, so the confusion matrix on unlabelled production rows can be taken in
expectation. Scores are calibrated on the labelled reference window (isotonic regression), so a
model that was over-confident there is corrected. The estimate holds while the relation of score
to outcome (concept) holds; a concept shift shows only once labels arrive (``performance_drop``).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref_scores = rng.random(5000); ref_labels = (rng.random(5000) < ref_scores).astype(int)
>>> cur_scores = rng.beta(5, 5, 5000)  # more borderline rows in production: accuracy should fall
>>> res = estimate_performance(ref_labels, ref_scores, cur_scores)
>>> round(res.figures["reference_accuracy"], 2), round(res.figures["estimated_accuracy"], 2)
(0.75, 0.62)
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression

from tools._validate import as_float_array, binary_labels, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result
from tools.twosample import rank_auc

MIN_REFERENCE = 100
"""Fewest labelled reference rows to calibrate on."""


def _expected_auc(probability_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` when each row is positive with the given probability (expected ROC curve)."""
    order = np.argsort(-scores, kind="stable")
    p, s = probability_positive[order], scores[order]
    positives, negatives = p.sum(), (1.0 - p).sum()
    if positives <= 0 or negatives <= 0:
        return None
    last = np.r_[s[1:] != s[:-1], True]  # one ROC point per distinct threshold
    tpr = np.r_[0.0, np.cumsum(p)[last] / positives]
    fpr = np.r_[0.0, np.cumsum(1.0 - p)[last] / negatives]
    return float(np.trapezoid(tpr, fpr))


def _expected_metrics(q: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = float(q[predicted].sum())
    fp = float((1.0 - q[predicted]).sum())
    fn = float(q[~predicted].sum())
    correct = np.where(predicted, q, 1.0 - q)
    return {
        "accuracy": float(correct.mean()),
        "accuracy_se": float(np.sqrt((correct * (1.0 - correct)).sum()) / q.size),
        "f1": 2.0 * tp / (2.0 * tp + fp + fn) if tp > 0 else 0.0,
        "positive_rate": float(q.mean()),
    }


def estimate_performance(
    reference_labels: np.ndarray,
    reference_scores: np.ndarray,
    current_scores: np.ndarray,
    *,
    threshold: float = 0.5,
    current_labels: np.ndarray | None = None,
) -> ToolResult:
    """Expected accuracy, F1 and ROC AUC on unlabelled current rows, from scores calibrated on the reference.

    Figures: ``estimated_accuracy`` (with ``accuracy_se``, its sampling standard error),
    ``estimated_f1``, ``estimated_roc_auc``, ``estimated_positive_rate``; the reference's realised
    ``reference_accuracy`` / ``reference_f1`` / ``reference_roc_auc`` and ``estimated_drop``
    (reference minus estimated accuracy). When ``current_labels`` (the ones that have matured) are
    given, ``realised_accuracy`` and ``estimation_error`` (estimated minus realised) are added.
    """
    ry = binary_labels(reference_labels, "reference_labels")
    rs = as_float_array(reference_scores, "reference_scores")
    cs = as_float_array(current_scores, "current_scores")
    threshold = probability(threshold, "threshold")
    if ry.shape != rs.shape:
        raise ToolInputError(f"reference_labels has {ry.size} values but reference_scores has {rs.size}")
    inputs = {"n_reference": ry.size, "n_current": cs.size, "threshold": threshold,
              "has_current_labels": current_labels is not None}
    if ry.size < MIN_REFERENCE or cs.size == 0:
        return insufficient("estimate_performance",
                            f"need at least {MIN_REFERENCE} labelled reference rows and one current row", inputs=inputs)
    if ry.min() == ry.max():
        return insufficient("estimate_performance", "the reference labels hold one class: nothing to calibrate",
                            inputs=inputs)
    calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(rs, ry)
    q = np.clip(calibrator.predict(cs), 0.0, 1.0)
    current = _expected_metrics(q, cs >= threshold)
    predicted_ref = rs >= threshold
    tp_ref = int((predicted_ref & (ry == 1)).sum())
    wrong_ref = int((predicted_ref != (ry == 1)).sum())
    figures: dict[str, object] = {
        "estimated_accuracy": current["accuracy"],
        "accuracy_se": current["accuracy_se"],
        "estimated_f1": current["f1"],
        "estimated_roc_auc": _expected_auc(q, cs),
        "estimated_positive_rate": current["positive_rate"],
        "reference_accuracy": (ry.size - wrong_ref) / ry.size,
        "reference_f1": 2.0 * tp_ref / (2.0 * tp_ref + wrong_ref) if tp_ref else 0.0,
        "reference_roc_auc": rank_auc(ry, rs),
        "n_current": cs.size,
    }
    figures["estimated_drop"] = figures["reference_accuracy"] - current["accuracy"]  # type: ignore[operator]
    if current_labels is not None:
        cy = binary_labels(current_labels, "current_labels")
        if cy.shape != cs.shape:
            raise ToolInputError(f"current_labels has {cy.size} values but current_scores has {cs.size}")
        realised = float(((cs >= threshold) == (cy == 1)).mean())
        figures |= {"realised_accuracy": realised, "estimation_error": current["accuracy"] - realised}
    return tool_result("estimate_performance", inputs=inputs, figures=figures)
