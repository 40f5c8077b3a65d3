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

_CHUNK_CELLS = 1 << 16
"""Bounds one vectorised block (columns x pooled rows): its working arrays stay in cache and are reused."""

EXACT_KS_MAX_PRODUCT = 10_000
"""Below this n_ref * n_cur the KS p-value is exact (scipy); above it Stephens' asymptotic form, vectorised."""


def _column_blocks(d: int, rows: int):
    step = max(1, _CHUNK_CELLS // max(1, rows))
    for start in range(0, d, step):
        yield slice(start, min(d, start + step))


def _gap_dtype(rows_ref: int, rows_cur: int) -> type:
    """int32 when no running ECDF gap (at most rows_ref * rows_cur in size) can overflow it, else int64."""
    return np.int32 if rows_ref * rows_cur < 2**31 else np.int64


def _pooled_blocks(ref: np.ndarray, cur: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray):
    """Per block of columns: the pooled values sorted once (NaN last) and the signed ECDF gap after each.

    The gap is ``n_ref * n_cur * (F_ref - F_cur)``, an exact integer: one argsort of the pooled window
    says where each value came from, and one cumulative sum of ``+n_cur`` (reference) / ``-n_ref``
    (current) steps gives the gap, so no value is rounded or merged with a neighbour.
    """
    n, d = ref.shape
    dtype = _gap_dtype(n, cur.shape[0])
    for cols in _column_blocks(d, n + cur.shape[0]):
        pooled = np.concatenate([ref[:, cols].T, cur[:, cols].T], axis=1)
        order = np.argsort(pooled, axis=1)
        steps = np.where(order >= n, -n_ref[cols, None].astype(dtype), n_cur[cols, None].astype(dtype))
        yield cols, np.take_along_axis(pooled, order, axis=1), np.cumsum(steps, axis=1, dtype=dtype)


def _valid_positions(n_valid: np.ndarray, width: int) -> np.ndarray | None:
    """Mask of sorted positions holding values (NaN sorts last); None when no row has a NaN."""
    if (n_valid == width).all():
        return None
    return np.arange(width) < n_valid[:, None]


def _largest_gap(values: np.ndarray, gap: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """Largest |gap| per row, read only after the last of each run of tied values and only among values."""
    tied = values[:, 1:] == values[:, :-1]
    if valid is not None or tied.any():
        keep = np.ones(values.shape, bool) if valid is None else valid.copy()
        keep[:, :-1] &= ~tied
        gap = np.where(keep, gap, 0)
    return np.maximum(gap.max(axis=1), -gap.min(axis=1))


def _area_between(values: np.ndarray, gap: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """Sum of |gap| times the width to the next value per row: n_ref * n_cur times the Wasserstein distance."""
    with np.errstate(invalid="ignore"):  # NaN beyond the values (masked below); inf - inf is NaN, as in scipy
        width = np.diff(values, axis=1)
    if valid is not None:
        width = np.where(valid[:, 1:], width, 0.0)
    return (np.abs(gap[:, :-1]) * width).sum(axis=1)


def _statistic_and_area(ref: np.ndarray, cur: np.ndarray, *, area: bool) -> dict[str, np.ndarray]:
    """Non-NaN counts, KS D and (when ``area``) the Wasserstein distance per column, from one sort per column."""
    n_ref, n_cur = (~np.isnan(ref)).sum(axis=0), (~np.isnan(cur)).sum(axis=0)
    product = np.maximum(n_ref * n_cur, 1)
    statistic, distance = np.full(ref.shape[1], np.nan), np.full(ref.shape[1], np.nan)
    for cols, values, gap in _pooled_blocks(ref, cur, n_ref, n_cur):
        valid = _valid_positions(n_ref[cols] + n_cur[cols], values.shape[1])
        statistic[cols] = _largest_gap(values, gap, valid) / product[cols]
        if area:
            distance[cols] = _area_between(values, gap, valid) / product[cols]
    empty = (n_ref == 0) | (n_cur == 0)
    statistic[empty] = distance[empty] = np.nan
    return {"n_ref": n_ref, "n_cur": n_cur, "statistic": statistic, "distance": distance}


def _ks_p_values(ref: np.ndarray, cur: np.ndarray, statistic: np.ndarray, n_ref: np.ndarray,
                 n_cur: np.ndarray) -> np.ndarray:
    """Stephens' asymptotic KS p-value per column; scipy's exact one where n_ref * n_cur is small."""
    en = n_ref * n_cur / np.maximum(n_ref + n_cur, 1)
    root = np.sqrt(np.maximum(en, 1e-12))
    p_value = np.clip(stats.kstwobign.sf((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0)
    small = np.flatnonzero((n_ref * n_cur <= EXACT_KS_MAX_PRODUCT) & ~np.isnan(statistic))
    for j in small:
        a, b = ref[:, j], cur[:, j]
        p_value[j] = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="exact").pvalue
    p_value[np.isnan(statistic)] = np.nan
    return p_value


def ks_columns(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided two-sample KS statistic D and p-value per column (NaN where a column is empty).

    D is the largest ECDF gap, read from one sorted pool of both windows per column (ties are
    evaluated after their last member); it equals ``scipy.stats.ks_2samp(method="exact")``'s to the
    last bit. The p-value is Stephens' asymptotic approximation
    ``Q_KS((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D)``, ``en = n m / (n + m)``, except for small
    windows (``n m <= EXACT_KS_MAX_PRODUCT``), where scipy's exact distribution is cheap.
    """
    f = _statistic_and_area(ref, cur, area=False)
    return f["statistic"], _ks_p_values(ref, cur, f["statistic"], f["n_ref"], f["n_cur"])


def wasserstein_columns(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """First Wasserstein distance per column, the area between the two ECDFs (NaN where a column is empty)."""
    return _statistic_and_area(ref, cur, area=True)["distance"]


def ks_wasserstein_columns(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KS D, KS p-value and Wasserstein distance per column, sharing one sort of the pooled windows."""
    f = _statistic_and_area(ref, cur, area=True)
    return f["statistic"], _ks_p_values(ref, cur, f["statistic"], f["n_ref"], f["n_cur"]), f["distance"]


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
