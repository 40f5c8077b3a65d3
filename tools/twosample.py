"""Vectorised two-sample statistics over the columns of a reference and a current matrix.

Plain array functions shared by the drift tools: each takes ``(n, d)`` and ``(m, d)`` float matrices
(NaN = missing, ignored per column) and returns one value per column, so a thousand features cost
one pass of numpy rather than a thousand Python calls. Effect sizes (KS D, Jensen-Shannon distance,
Wasserstein in reference standard deviations, Cramér's V, MMD², domain-classifier AUC) sit beside
p-values so a large sample does not turn a negligible shift into an alarm.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref, cur = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
>>> cur[:, 1] += 0.5
>>> d, p = ks_columns(ref, cur)
>>> bool(d[1] > d[0]), bool(p[1] < 1e-10 < p[0])
(True, True)
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

_CHUNK_CELLS = 1 << 22  # bounds the working arrays (columns x rows) of one vectorised block

EXACT_KS_MAX_PRODUCT = 10_000
"""Below this n_ref * n_cur the KS p-value is exact (scipy); above it Stephens' asymptotic form, vectorised."""

_SIGN_CLEARED = np.int64(0x7FFFFFFFFFFFFFFF)


def _sortable(x: np.ndarray) -> np.ndarray:
    """Float64 values as int64 keys in the same order (-0.0 folded into 0.0, NaN mapped to +inf)."""
    bits = np.where(np.isnan(x), np.inf, x + 0.0).view(np.int64)
    return bits ^ ((bits >> 63) & _SIGN_CLEARED)


_MISSING_KEY = int(_sortable(np.array([np.inf]))[0] >> 1)


def _merge_keys(x: np.ndarray, origin: int) -> np.ndarray:
    """Sort keys whose lowest bit says which window a value came from.

    Giving up the last mantissa bit lets one integer sort merge both windows (no argsort, no gather);
    values one ulp apart count as ties, which no drift question can tell apart.
    """
    return (_sortable(x) & ~np.int64(1)) | np.int64(origin)


def _column_blocks(d: int, rows: int):
    step = max(1, _CHUNK_CELLS // max(1, rows))
    for start in range(0, d, step):
        yield slice(start, min(d, start + step))


def ks_columns(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided two-sample KS statistic D and p-value per column (NaN where a column is empty).

    D is the largest ECDF gap, read from one sorted merge of both windows per column (ties are
    evaluated after their last member). The p-value is Stephens' asymptotic approximation
    ``Q_KS((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D)``, ``en = n m / (n + m)``, except for small
    windows (``n m <= EXACT_KS_MAX_PRODUCT``), where scipy's exact distribution is cheap.
    """
    n, d = ref.shape
    m = cur.shape[0]
    statistic = np.full(d, np.nan)
    n_ref = (~np.isnan(ref)).sum(axis=0)
    n_cur = (~np.isnan(cur)).sum(axis=0)
    for cols in _column_blocks(d, n + m):
        keys = np.sort(np.concatenate([_merge_keys(ref[:, cols].T, 0), _merge_keys(cur[:, cols].T, 1)], axis=1),
                       axis=1)
        from_cur = (keys & 1).astype(bool)
        valid = (keys >> 1) != _MISSING_KEY
        # The ECDF gap times n_ref * n_cur is an integer: exact, so D matches scipy's to the last bit.
        below_ref = np.cumsum(~from_cur & valid, axis=1, dtype=np.int64) * n_cur[cols, None]
        below_cur = np.cumsum(from_cur & valid, axis=1, dtype=np.int64) * n_ref[cols, None]
        gap = np.abs(below_ref - below_cur)
        gap[:, :-1][(keys[:, 1:] >> 1) == (keys[:, :-1] >> 1)] = 0  # only after the last of a run of ties
        statistic[cols] = gap.max(axis=1) / np.maximum(n_ref[cols] * n_cur[cols], 1)
    statistic[(n_ref == 0) | (n_cur == 0)] = np.nan
    statistic = np.clip(statistic, 0.0, 1.0)
    en = n_ref * n_cur / np.maximum(n_ref + n_cur, 1)
    root = np.sqrt(np.maximum(en, 1e-12))
    p_value = np.clip(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0)
    small = np.flatnonzero((n_ref * n_cur <= EXACT_KS_MAX_PRODUCT) & ~np.isnan(statistic))
    for j in small:
        a, b = ref[:, j], cur[:, j]
        p_value[j] = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="exact").pvalue
    p_value[np.isnan(statistic)] = np.nan
    return statistic, p_value


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC of scores against 0/1 labels from average ranks (Mann-Whitney U); None with one class."""
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = stats.rankdata(scores)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
