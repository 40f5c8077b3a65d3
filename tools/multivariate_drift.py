"""Multivariate drift between a reference and a current window: kernel MMD and a domain-classifier test.

Per-feature tests miss a change in how features move together. ``mmd_drift`` compares the joint
distributions with a Gaussian-kernel maximum mean discrepancy and a permutation p-value;
``domain_classifier_drift`` asks whether a classifier can tell the windows apart (cross-validated
ROC AUC: 0.5 means indistinguishable). Both report an effect size (MMD², AUC) beside the p-value.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> cov = [[1, 0.9], [0.9, 1]]
>>> ref = rng.multivariate_normal([0, 0], cov, 400)
>>> cur = rng.multivariate_normal([0, 0], [[1, -0.9], [-0.9, 1]], 400)  # same marginals, joint flipped
>>> mmd_drift(ref, cur).figures["drifted"], domain_classifier_drift(ref, cur).figures["drifted"]
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from tools._validate import paired_matrices, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result
from tools.twosample import auc_p_value, mmd_permutation, rank_auc

MIN_ROWS = 30
"""Fewest rows per window (complete rows, for MMD) a multivariate test needs."""


def subsample_rows(x: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``max_rows`` rows of ``x``, drawn without replacement and kept in their order."""
    return x if x.shape[0] <= max_rows else x[np.sort(rng.choice(x.shape[0], max_rows, replace=False))]


def _count(value: object, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ToolInputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def mmd_drift(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    alpha: float = 0.05,
    permutations: int = 200,
    max_rows: int = 500,
    seed: int = 0,
) -> ToolResult:
    """Gaussian-kernel MMD² between the windows' joint distributions, with a permutation p-value.

    Columns are standardised by the reference's mean and spread; rows with NaN are dropped; each
    window is subsampled (seeded) to ``max_rows`` rows, which keeps the cost at O(max_rows²).
    Drifted when ``p_value`` < ``alpha``; ``mmd2`` is the effect size (0 for equal distributions).
    """
    ref, cur, names = paired_matrices(reference, current, feature_names)
    alpha = probability(alpha, "alpha")
    permutations = _count(permutations, "permutations", 19)
    max_rows = _count(max_rows, "max_rows", MIN_ROWS)
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names), "alpha": alpha,
              "permutations": permutations, "max_rows": max_rows, "seed": seed}
    ref = ref[~np.isnan(ref).any(axis=1)]
    cur = cur[~np.isnan(cur).any(axis=1)]
    if min(ref.shape[0], cur.shape[0]) < MIN_ROWS:
        return insufficient("mmd_drift", f"need at least {MIN_ROWS} complete rows in each window", inputs=inputs)
    rng = np.random.default_rng(seed)
    ref, cur = subsample_rows(ref, max_rows, rng), subsample_rows(cur, max_rows, rng)
    center, spread = ref.mean(axis=0), ref.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    mmd2, p_value, bandwidth = mmd_permutation((ref - center) / spread, (cur - center) / spread,
                                               permutations=permutations, seed=seed)
    figures = {"mmd2": mmd2, "p_value": p_value, "drifted": bool(p_value < alpha), "bandwidth": bandwidth,
               "alpha": alpha, "n_reference_used": ref.shape[0], "n_current_used": cur.shape[0]}
    return tool_result("mmd_drift", inputs=inputs, figures=figures)


def domain_classifier_drift(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    alpha: float = 0.01,
    min_auc: float = 0.55,
    folds: int = 5,
    max_rows: int = 5000,
    seed: int = 0,
) -> ToolResult:
    """Can a classifier tell the current window from the reference? Cross-validated ROC AUC and its p-value.

    A gradient-boosted tree model (NaN-aware) is trained to separate the windows; its out-of-fold
    scores give the AUC (0.5 = no drift, 1 = fully separable) and a one-sided Mann-Whitney p-value.
    Drifted when ``p_value`` < ``alpha`` and ``auc`` >= ``min_auc``, so a huge sample does not make a
    negligible difference an alarm. ``top_features`` ranks columns by how much they alone separate the windows.
    """
    ref, cur, names = paired_matrices(reference, current, feature_names)
    alpha = probability(alpha, "alpha")
    min_auc = probability(min_auc, "min_auc")
    folds = _count(folds, "folds", 2)
    max_rows = _count(max_rows, "max_rows", MIN_ROWS)
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names), "alpha": alpha,
              "min_auc": min_auc, "folds": folds, "max_rows": max_rows, "seed": seed}
    if min(ref.shape[0], cur.shape[0]) < max(MIN_ROWS, folds):
        return insufficient("domain_classifier_drift", f"need at least {MIN_ROWS} rows in each window", inputs=inputs)
    rng = np.random.default_rng(seed)
    ref, cur = subsample_rows(ref, max_rows, rng), subsample_rows(cur, max_rows, rng)
    x = np.vstack([ref, cur])
    y = np.r_[np.zeros(ref.shape[0], dtype=int), np.ones(cur.shape[0], dtype=int)]
    model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, max_leaf_nodes=15, random_state=seed)
    scores = cross_val_predict(model, x, y, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                               method="predict_proba")[:, 1]
    auc = float(rank_auc(y, scores))  # type: ignore[arg-type]  # both classes present by construction
    p_value = auc_p_value(auc, cur.shape[0], ref.shape[0])
    per_feature = {}
    for j, name in enumerate(names):
        column = np.nan_to_num(x[:, j], nan=np.nanmin(x[:, j]) - 1.0 if not np.isnan(x[:, j]).all() else 0.0)
        single = rank_auc(y, column)
        per_feature[name] = abs(single - 0.5) * 2.0 if single is not None else 0.0
    figures = {
        "auc": auc,
        "p_value": p_value,
        "drifted": bool(p_value < alpha and auc >= min_auc),
        "top_features": sorted(per_feature, key=per_feature.get, reverse=True)[:5],  # type: ignore[arg-type]
        "feature_separation": per_feature,
        "alpha": alpha,
        "min_auc": min_auc,
        "n_reference_used": ref.shape[0],
        "n_current_used": cur.shape[0],
    }
    return tool_result("domain_classifier_drift", inputs=inputs, figures=figures)
