"""What matured labels say beyond accuracy: prior (label) shift, and labels that echo the model (feedback loops)."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from tools._validate import as_float_array, binary_labels, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result


def _z_p(x1: float, n1: int, x2: float, n2: int) -> float:
    """Two-sided two-proportion z-test p-value for rates x1 (of n1) and x2 (of n2)."""
    pooled = (x1 * n1 + x2 * n2) / (n1 + n2)
    se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se <= 0:
        return 1.0 if x1 == x2 else 0.0
    return float(2.0 * stats.norm.sf(abs(x1 - x2) / se))


def _min_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ToolInputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def label_shift(ref_labels: np.ndarray, cur_labels: np.ndarray, cur_scores: np.ndarray, *, min_labels: int = 100,
                alpha: float = 0.001, min_shift: float = 0.1) -> ToolResult:
    """Prior shift: positive-label rate now vs reference (z-test) and vs the model's mean score on the same requests.

    ``shifted`` when the positive rate moved by at least ``min_shift`` with p < ``alpha`` and the
    model's own mean score did not follow (calibration gap of at least ``min_shift``).
    """
    ry = binary_labels(ref_labels, "ref_labels")
    cy = binary_labels(cur_labels, "cur_labels")
    cs = as_float_array(cur_scores, "cur_scores")
    if cs.shape != cy.shape:
        raise ToolInputError(f"cur_labels has {cy.size} values but cur_scores has {cs.size}")
    alpha = probability(alpha, "alpha")
    min_shift = probability(min_shift, "min_shift")
    min_labels = _min_count(min_labels, "min_labels")
    inputs = {"n_reference": ry.size, "n_labels": cy.size, "min_labels": min_labels, "alpha": alpha,
              "min_shift": min_shift}
    if min(ry.size, cy.size) < min_labels:
        return insufficient("label_shift", f"need at least {min_labels} labels in each window, got {ry.size} and "
                            f"{cy.size}", inputs=inputs)
    ref_rate, cur_rate, mean_score = float(ry.mean()), float(cy.mean()), float(cs.mean())
    p_value = _z_p(ref_rate, ry.size, cur_rate, cy.size)
    gap = cur_rate - mean_score
    figures = {
        "reference_positive_rate": ref_rate,
        "current_positive_rate": cur_rate,
        "shift": cur_rate - ref_rate,
        "p_value": p_value,
        "mean_score": mean_score,
        "calibration_gap": gap,
        "shifted": bool(abs(cur_rate - ref_rate) >= min_shift and p_value < alpha and abs(gap) >= min_shift),
        "n_labels": int(cy.size),
    }
    return tool_result("label_shift", inputs=inputs, figures=figures)


def _sharpness(scores: np.ndarray) -> float:
    """Mean distance of scores from 0.5, scaled to [0, 1]: 0 undecided, 1 certain."""
    return float(np.mean(np.abs(2.0 * scores - 1.0)))


def feedback_echo(ref_labels: np.ndarray, ref_scores: np.ndarray, cur_scores: np.ndarray,
                  cur_labels: np.ndarray | None = None, cur_labelled_scores: np.ndarray | None = None, *,
                  min_labels: int = 100, alpha: float = 0.001, min_gain: float = 0.1) -> ToolResult:
    """Signs of a feedback loop: scores grown over-confident (sharpness) and labels agreeing with the model more than before.

    Sharpness is the mean of |2s - 1|; its gain is tested by Welch's t-test. Agreement is the
    accuracy of thresholded scores on matured labels (now vs reference, one-sided z-test for a rise);
    it is reported when at least ``min_labels`` current labels are given. ``echo`` when either
    sharpness or agreement rose by at least ``min_gain`` with p < ``alpha``.
    """
    ry = binary_labels(ref_labels, "ref_labels")
    rs = as_float_array(ref_scores, "ref_scores")
    cs = as_float_array(cur_scores, "cur_scores")
    if ry.shape != rs.shape:
        raise ToolInputError(f"ref_labels has {ry.size} values but ref_scores has {rs.size}")
    alpha = probability(alpha, "alpha")
    min_gain = probability(min_gain, "min_gain")
    min_labels = _min_count(min_labels, "min_labels")
    inputs = {"n_reference": rs.size, "n_current": cs.size, "alpha": alpha, "min_gain": min_gain}
    if min(rs.size, cs.size) < 30:
        return insufficient("feedback_echo", f"need at least 30 scores in each window, got {rs.size} and {cs.size}",
                            inputs=inputs)
    ref_sharp, cur_sharp = np.abs(2.0 * rs - 1.0), np.abs(2.0 * cs - 1.0)
    sharp_gain = float(cur_sharp.mean() - ref_sharp.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # near-constant scores: the t statistic is still usable
        sharp_p = float(stats.ttest_ind(cur_sharp, ref_sharp, equal_var=False, alternative="greater").pvalue)
    if not np.isfinite(sharp_p):
        sharp_p = 0.0 if sharp_gain > 0 else 1.0
    figures: dict[str, object] = {
        "reference_sharpness": float(ref_sharp.mean()),
        "current_sharpness": float(cur_sharp.mean()),
        "sharpness_gain": sharp_gain,
        "sharpness_p_value": sharp_p,
        "reference_agreement": float(((rs >= 0.5) == ry).mean()),
        "current_agreement": None,
        "agreement_gain": None,
        "agreement_p_value": None,
    }
    echo = sharp_gain >= min_gain and sharp_p < alpha
    if cur_labels is not None and cur_labelled_scores is not None:
        cy = binary_labels(cur_labels, "cur_labels")
        cls = as_float_array(cur_labelled_scores, "cur_labelled_scores")
        if cy.shape != cls.shape:
            raise ToolInputError(f"cur_labels has {cy.size} values but cur_labelled_scores has {cls.size}")
        if cy.size >= min_labels:
            ref_acc = float(figures["reference_agreement"])  # type: ignore[arg-type]
            cur_acc = float(((cls >= 0.5) == cy).mean())
            p = _z_p(ref_acc, ry.size, cur_acc, cy.size) / 2.0 if cur_acc > ref_acc else 1.0
            figures |= {"current_agreement": cur_acc, "agreement_gain": cur_acc - ref_acc, "agreement_p_value": p}
            echo = echo or (cur_acc - ref_acc >= min_gain / 2.0 and p < alpha)
    figures["echo"] = bool(echo)
    return tool_result("feedback_echo", inputs=inputs, figures=figures)
