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


def _merged_blocks(ref: np.ndarray, cur: np.ndarray):
    """Per block of columns: the merged sort keys of both windows, which window each came from, and validity."""
    n, d = ref.shape
    for cols in _column_blocks(d, n + cur.shape[0]):
        keys = np.sort(np.concatenate([_merge_keys(ref[:, cols].T, 0), _merge_keys(cur[:, cols].T, 1)], axis=1),
                       axis=1)
        yield cols, keys, (keys & 1).astype(bool), (keys >> 1) != _MISSING_KEY


def _key_values(keys: np.ndarray) -> np.ndarray:
    """The float values behind merge keys (exact but for the dropped last mantissa bit)."""
    bits = keys & ~np.int64(1)
    return (bits ^ ((bits >> 63) & _SIGN_CLEARED)).view(np.float64)


def ks_columns(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided two-sample KS statistic D and p-value per column (NaN where a column is empty).

    D is the largest ECDF gap, read from one sorted merge of both windows per column (ties are
    evaluated after their last member). The p-value is Stephens' asymptotic approximation
    ``Q_KS((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D)``, ``en = n m / (n + m)``, except for small
    windows (``n m <= EXACT_KS_MAX_PRODUCT``), where scipy's exact distribution is cheap.
    """
    statistic = np.full(ref.shape[1], np.nan)
    n_ref = (~np.isnan(ref)).sum(axis=0)
    n_cur = (~np.isnan(cur)).sum(axis=0)
    for cols, keys, from_cur, valid in _merged_blocks(ref, cur):
        # The ECDF gap times n_ref * n_cur is an integer: exact, so D matches scipy's to the last bit.
        below_ref = np.cumsum(~from_cur & valid, axis=1, dtype=np.int64) * n_cur[cols, None]
        below_cur = np.cumsum(from_cur & valid, axis=1, dtype=np.int64) * n_ref[cols, None]
        gap = np.abs(below_ref - below_cur)
        gap[:, :-1][(keys[:, 1:] >> 1) == (keys[:, :-1] >> 1)] = 0  # only after the last of a run of ties
        statistic[cols] = gap.max(axis=1) / np.maximum(n_ref[cols] * n_cur[cols], 1)
    statistic[(n_ref == 0) | (n_cur == 0)] = np.nan
    en = n_ref * n_cur / np.maximum(n_ref + n_cur, 1)
    root = np.sqrt(np.maximum(en, 1e-12))
    p_value = np.clip(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0)
    small = np.flatnonzero((n_ref * n_cur <= EXACT_KS_MAX_PRODUCT) & ~np.isnan(statistic))
    for j in small:
        a, b = ref[:, j], cur[:, j]
        p_value[j] = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="exact").pvalue
    p_value[np.isnan(statistic)] = np.nan
    return statistic, p_value


def wasserstein_columns(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """First Wasserstein distance per column, the area between the two ECDFs (NaN where a column is empty)."""
    distance = np.full(ref.shape[1], np.nan)
    n_ref = (~np.isnan(ref)).sum(axis=0)
    n_cur = (~np.isnan(cur)).sum(axis=0)
    for cols, keys, from_cur, valid in _merged_blocks(ref, cur):
        gap = (np.cumsum(~from_cur & valid, axis=1) / np.maximum(n_ref[cols], 1)[:, None]
               - np.cumsum(from_cur & valid, axis=1) / np.maximum(n_cur[cols], 1)[:, None])
        with np.errstate(invalid="ignore"):  # inf - inf between missing values, masked below
            width = np.where(valid[:, 1:], np.diff(_key_values(keys), axis=1), 0.0)
        distance[cols] = (np.abs(gap[:, :-1]) * width).sum(axis=1)
    distance[(n_ref == 0) | (n_cur == 0)] = np.nan
    return distance


def category_counts(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category (the union of values seen in either window) in a 1-D reference and current."""
    a, b = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    levels, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    return (np.bincount(codes[: a.size], minlength=levels.size),
            np.bincount(codes[a.size :], minlength=levels.size))


def chi2_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float, float]:
    """Pearson chi-squared homogeneity test of two count vectors: statistic, p-value, Cramér's V."""
    table = np.vstack([ref_counts, cur_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    total = table.sum()
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 0.0, 1.0, 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / total
    statistic = float(((table - expected) ** 2 / expected).sum())
    p_value = float(stats.chi2.sf(statistic, table.shape[1] - 1))
    return statistic, p_value, float(np.sqrt(statistic / total))  # min(rows, cols) - 1 = 1


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) between share vectors along the last axis."""
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-300)
    q = q / np.maximum(q.sum(axis=-1, keepdims=True), 1e-300)
    mid = (p + q) / 2.0
    divergence = (special.rel_entr(p, mid).sum(axis=-1) + special.rel_entr(q, mid).sum(axis=-1)) / 2.0
    return np.sqrt(np.clip(divergence / np.log(2.0), 0.0, 1.0))


def mmd_permutation(ref: np.ndarray, cur: np.ndarray, *, permutations: int = 200,
                    seed: int = 0) -> tuple[float, float, float]:
    """Unbiased MMD² with a Gaussian kernel (median-distance bandwidth), its permutation p-value, the bandwidth.

    Rows must be complete and columns comparably scaled (the caller standardises by the reference).
    The p-value is ``(1 + #{permuted >= observed}) / (1 + permutations)``, so it is never 0.
    """
    pooled = np.vstack([ref, cur])
    n, total = ref.shape[0], pooled.shape[0]
    sq = (pooled * pooled).sum(axis=1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * pooled @ pooled.T, 0.0)
    upper = dist[np.triu_indices(total, 1)]
    bandwidth = float(np.sqrt(np.median(upper) / 2.0)) if upper.size and np.median(upper) > 0 else 1.0
    gram = np.exp(-dist / (2.0 * bandwidth * bandwidth))
    np.fill_diagonal(gram, 0.0)

    def statistic(in_ref: np.ndarray) -> np.ndarray:
        # in_ref: (k, total) 0/1 rows; unbiased MMD² for each assignment at once
        a = in_ref.astype(float)
        b = 1.0 - a
        m = total - n
        kxx = np.einsum("ki,ij,kj->k", a, gram, a) / (n * (n - 1))
        kyy = np.einsum("ki,ij,kj->k", b, gram, b) / (m * (m - 1))
        kxy = np.einsum("ki,ij,kj->k", a, gram, b) / (n * m)
        return kxx + kyy - 2.0 * kxy

    observed = float(statistic(np.r_[np.ones(n), np.zeros(total - n)][None, :])[0])
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n), np.zeros(total - n)]
    perms = np.array([rng.permutation(labels) for _ in range(permutations)])
    null = np.concatenate([statistic(block) for block in np.array_split(perms, max(1, permutations // 50))])
    return observed, float((1 + (null >= observed).sum()) / (1 + permutations)), bandwidth


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC of scores against 0/1 labels from average ranks (Mann-Whitney U); None with one class."""
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = stats.rankdata(scores)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auc_p_value(auc: float, n_pos: int, n_neg: int) -> float:
    """One-sided p-value that an AUC this far above 0.5 arose by chance (Mann-Whitney normal approximation)."""
    se = np.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))
    return float(stats.norm.sf((auc - 0.5) / se))
