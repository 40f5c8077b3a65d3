"""Distribution drift between a reference window and a current window, per feature: PSI, KS, chi², JS, Wasserstein.

``data_drift`` picks a test per column by type and size, as Evidently does (KS or chi² on small
windows, normalised Wasserstein or Jensen-Shannon on large ones, where any p-value would be tiny),
and always reports an effect size beside the p-value. A ``ReferenceProfile`` holds the reference
window's bins once, so scoring each new window is one binning pass.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(2000, 2)); cur = rng.normal(size=(2000, 2)); cur[:, 1] += 0.5
>>> data_drift(ref, cur, feature_names=["a", "b"]).figures["drifted"]
['b']
>>> profile = ReferenceProfile(ref, feature_names=["a", "b"])
>>> [float(round(v, 2)) for v in profile.psi(cur)]
[0.02, 0.27]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from tools._validate import as_float_array, as_matrix, column_names, paired_matrices, positive_number, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result
from tools.twosample import category_counts, chi2_counts, jensen_shannon, ks_columns, ks_wasserstein_columns

MIN_SAMPLES = 30
"""Fewest non-NaN values per window a column needs before its drift is measured."""

EPSILON = 1e-4
"""Floor on a bin's share so an empty bin gives a large but finite PSI term."""

def _quantile_edges(ref: np.ndarray, bins: int) -> np.ndarray:
    """Interior bin edges per column, shape (d, k): reference quantiles, with point masses given their own bin.

    A value repeated across quantiles (ties, constant columns) gets an extra edge just above it, so
    ``[v, next(v))`` holds exactly the mass at ``v`` and a move above or below it shows up as drift.
    Missing edges are +inf, which only ever adds bins that are empty in both windows.
    """
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    if ref.shape[0] == 0:  # nothing to bin by: every column is reported as insufficient
        return np.full((ref.shape[1], 2 * len(levels)), np.inf)
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
    d = x.shape[1]
    n_bins = edges.shape[1] + 1
    columns = np.ascontiguousarray(x.T)  # one pass over memory; each column is then a contiguous binary search
    counts = np.empty((d, n_bins + 1), dtype=np.int64)  # the extra bin collects NaN (searchsorted puts it last)
    for j in range(d):
        idx = np.searchsorted(edges[j], columns[j], side="right")
        idx[np.isnan(columns[j])] = n_bins
        counts[j] = np.bincount(idx, minlength=n_bins + 1)
    n_valid = x.shape[0] - counts[:, n_bins]
    return counts[:, :n_bins] / np.maximum(n_valid, 1)[:, None], n_valid


def psi_values(ref: np.ndarray, cur: np.ndarray, bins: int) -> np.ndarray:
    """PSI per column of two (n, d) matrices; NaN where a window has fewer than MIN_SAMPLES values."""
    return ReferenceProfile(ref, bins=bins).psi(cur)


class ReferenceProfile:
    """A reference window summarised once: quantile bin edges and bin shares per column, and the window itself.

    ``psi(current)`` then costs one binary search per value (tens of millions of values per second on
    one core). Pass a profile wherever a tool takes ``reference`` to reuse it across ticks.
    """

    def __init__(self, reference: np.ndarray, *, feature_names: Sequence[str] | None = None, bins: int = 10) -> None:
        self.matrix = as_matrix(reference, "reference")
        self.feature_names = column_names(feature_names, self.matrix.shape[1])
        self.bins = _check_bins(bins)
        self.edges = _quantile_edges(self.matrix, self.bins)
        self.shares, self.n_valid = _bin_shares(self.matrix, self.edges)

    @property
    def n(self) -> int:
        """Rows in the reference window."""
        return self.matrix.shape[0]

    def current_matrix(self, current: object) -> np.ndarray:
        """``current`` as an (n, d) matrix with the profile's columns, or ToolInputError."""
        cur = as_matrix(current, "current")
        if cur.shape[1] != self.matrix.shape[1]:
            raise ToolInputError(f"reference has {self.matrix.shape[1]} columns but current has {cur.shape[1]}")
        return cur

    def psi(self, current: np.ndarray) -> np.ndarray:
        """PSI per column of ``current`` against the profile; NaN where a window has fewer than MIN_SAMPLES values."""
        cur = self.current_matrix(current)
        p_cur, n_cur = _bin_shares(cur, self.edges)
        p_ref = np.maximum(self.shares, EPSILON)
        p_cur = np.maximum(p_cur, EPSILON)
        values = ((p_cur - p_ref) * np.log(p_cur / p_ref)).sum(axis=1)
        return np.where((self.n_valid >= MIN_SAMPLES) & (n_cur >= MIN_SAMPLES), values, np.nan)


def _windows(reference: object, current: object, feature_names: Sequence[str] | None,
             bins: int = 10) -> tuple[ReferenceProfile, np.ndarray]:
    """The reference as a profile (given, or built here) and the current window as a matching matrix."""
    if isinstance(reference, ReferenceProfile):
        if feature_names is not None and list(feature_names) != reference.feature_names:
            raise ToolInputError("feature_names differ from the reference profile's")
        return reference, reference.current_matrix(current)
    ref, cur, names = paired_matrices(reference, current, feature_names)
    return ReferenceProfile(ref, feature_names=names, bins=bins), cur


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
    reference: np.ndarray | ReferenceProfile,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    bins: int = 10,
    threshold: float = 0.2,
) -> ToolResult:
    """Population stability index per feature over reference-quantile bins; features above ``threshold`` drifted.

    ``reference`` may be a ``ReferenceProfile`` (its own ``bins`` then apply), so repeated calls skip re-binning it.
    """
    profile, cur = _windows(reference, current, feature_names, _check_bins(bins))
    ref, names, bins = profile.matrix, profile.feature_names, profile.bins
    threshold = positive_number(threshold, "threshold")
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names), "bins": bins,
              "threshold": threshold}
    values = profile.psi(cur)
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
    reference: np.ndarray | ReferenceProfile,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    alpha: float = 0.001,
) -> ToolResult:
    """Two-sample Kolmogorov-Smirnov test per feature, Bonferroni-corrected; D is the effect size beside p.

    ``p_value`` is the corrected p-value (raw p times the number of features tested, capped at 1), so a
    feature drifted when its ``p_value`` < ``alpha``; ``p_value_raw`` keeps the uncorrected one.
    """
    profile, cur = _windows(reference, current, feature_names)
    ref, names = profile.matrix, profile.feature_names
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


SMALL_WINDOW = 1000
"""Reference windows up to this size get a significance test by default; larger ones an effect-size test."""

CATEGORICAL_MAX_LEVELS = 5
"""A column with at most this many distinct reference values is treated as categorical unless told otherwise."""

TESTS = {
    # name: (column kind, what "statistic" is, drifted when, default threshold)
    "ks": ("numeric", "KS D", "p_value < threshold", 0.05),
    "wasserstein": ("numeric", "Wasserstein distance / reference std", "statistic >= threshold", 0.1),
    "psi": ("any", "PSI over reference-quantile bins", "statistic >= threshold", 0.1),
    "chi2": ("categorical", "Pearson chi-squared", "p_value < threshold", 0.05),
    "jensen_shannon": ("categorical", "Jensen-Shannon distance of category shares", "statistic >= threshold", 0.1),
}
"""The per-column tests ``data_drift`` knows; p-value tests decide on p, distance tests on the effect size."""


def default_test(kind: str, n_reference: int) -> str:
    """Evidently's choice: KS / chi² on small reference windows, normalised Wasserstein / JS distance on large."""
    if kind == "categorical":
        return "chi2" if n_reference <= SMALL_WINDOW else "jensen_shannon"
    return "ks" if n_reference <= SMALL_WINDOW else "wasserstein"


def _column_kinds(ref: np.ndarray, names: list[str], categorical: Sequence[str] | None) -> list[str]:
    if categorical is not None:
        unknown = sorted(set(categorical) - set(names))
        if unknown:
            raise ToolInputError(f"categorical names unknown columns: {unknown}")
        return ["categorical" if n in set(categorical) else "numeric" for n in names]
    kinds = []
    for j in range(ref.shape[1]):
        column = ref[:, j][~np.isnan(ref[:, j])]
        kinds.append("categorical" if np.unique(column).size <= CATEGORICAL_MAX_LEVELS else "numeric")
    return kinds


def _categorical_figures(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """chi², its p-value, Cramér's V and the JS distance of two 1-D categorical columns."""
    ref_counts, cur_counts = category_counts(a, b)
    chi2, p_value, cramers_v = chi2_counts(ref_counts, cur_counts)
    return chi2, p_value, cramers_v, float(jensen_shannon(ref_counts.astype(float), cur_counts.astype(float)))


def _numeric_figures(ref: np.ndarray, cur: np.ndarray,
                     with_wasserstein: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised Wasserstein (NaN unless asked for), KS D and KS p-value per column, from one sort per column."""
    if not with_wasserstein:
        return np.full(ref.shape[1], np.nan), *ks_columns(ref, cur)
    ks_d, ks_p, distance = ks_wasserstein_columns(ref, cur)
    std = np.nanstd(ref, axis=0)
    mean = np.abs(np.nanmean(ref, axis=0))
    # A constant reference has no spread to measure in; its magnitude (or 1) stands in.
    scale = np.where(std > 0, std, np.where(mean > 0, mean, 1.0))
    return distance / scale, ks_d, ks_p


def data_drift(
    reference: np.ndarray | ReferenceProfile,
    current: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    tests: dict[str, str] | None = None,
    thresholds: dict[str, float] | None = None,
    drift_share: float = 0.5,
) -> ToolResult:
    """Drift per feature with a test chosen by column type and window size, and whether the dataset drifted.

    ``categorical`` names the categorical columns (default: columns with at most
    ``CATEGORICAL_MAX_LEVELS`` distinct reference values). ``tests`` overrides the test per column
    (names in ``TESTS``), ``thresholds`` the threshold per test. Every feature reports its test,
    ``statistic``, ``p_value`` (the test's own, or for distance tests the KS / chi² p-value beside
    it), ``effect_size`` (KS D, normalised Wasserstein, PSI, Cramér's V or JS distance) and
    ``drifted``. The dataset drifted when at least ``drift_share`` of the tested features did.
    """
    profile, cur = _windows(reference, current, feature_names)
    ref, names = profile.matrix, profile.feature_names
    drift_share = probability(drift_share, "drift_share", inclusive=True)
    kinds = _column_kinds(ref, names, categorical)
    chosen = {}
    for name, kind in zip(names, kinds, strict=True):
        test = (tests or {}).get(name) or default_test(kind, int(profile.n_valid[names.index(name)]))
        if test not in TESTS:
            raise ToolInputError(f"unknown test {test!r} for {name!r}; known: {sorted(TESTS)}")
        if TESTS[test][0] not in ("any", kind):
            raise ToolInputError(f"test {test!r} is for {TESTS[test][0]} columns but {name!r} is {kind}")
        chosen[name] = test
    unknown = sorted(set(tests or {}) - set(names))
    if unknown:
        raise ToolInputError(f"tests names unknown columns: {unknown}")
    limits = {t: spec[3] for t, spec in TESTS.items()} | {
        t: positive_number(v, f"thresholds[{t!r}]") for t, v in (thresholds or {}).items() if t in TESTS}
    inputs = {"n_reference": ref.shape[0], "n_current": cur.shape[0], "n_features": len(names),
              "tests": chosen, "drift_share": drift_share}

    enough = (profile.n_valid >= MIN_SAMPLES) & ((~np.isnan(cur)).sum(axis=0) >= MIN_SAMPLES)
    numeric = np.array([k == "numeric" for k in kinds]) & enough
    ks_d, ks_p = np.full(len(names), np.nan), np.full(len(names), np.nan)
    wasserstein = np.full(len(names), np.nan)
    if numeric.any():
        wanted = any(chosen[n] == "wasserstein" for n, f in zip(names, numeric, strict=True) if f)
        wasserstein[numeric], ks_d[numeric], ks_p[numeric] = _numeric_figures(ref[:, numeric], cur[:, numeric], wanted)
    psi_all = profile.psi(cur) if "psi" in chosen.values() else None

    features: dict[str, dict[str, object]] = {}
    for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        test = chosen[name]
        if not enough[j]:
            continue
        if kind == "categorical":
            chi2, p_value, cramers_v, js = _categorical_figures(ref[:, j], cur[:, j])
            statistic, effect = {"chi2": (chi2, cramers_v), "jensen_shannon": (js, js)}.get(test, (None, None))
        else:
            p_value = float(ks_p[j])
            statistic, effect = {"ks": (ks_d[j], ks_d[j]), "wasserstein": (wasserstein[j], wasserstein[j])}.get(
                test, (None, None))
        if test == "psi":
            statistic = effect = float(psi_all[j])  # type: ignore[index]
        rule = TESTS[test][2]
        drifted = p_value < limits[test] if rule.startswith("p_value") else statistic >= limits[test]
        features[name] = {"test": test, "kind": kind, "statistic": float(statistic), "p_value": p_value,
                          "effect_size": float(effect), "threshold": limits[test], "drifted": bool(drifted)}
    if not features:
        return insufficient("data_drift", f"every feature has fewer than {MIN_SAMPLES} non-NaN values in a window",
                            inputs=inputs)
    drifted = [n for n, f in features.items() if f["drifted"]]
    figures = {
        "features": features,
        "drifted": drifted,
        "share_drifted": len(drifted) / len(features),
        "dataset_drift": len(drifted) / len(features) >= drift_share and bool(drifted),
        "insufficient_features": [n for n in names if n not in features],
        "n_reference": ref.shape[0],
        "n_current": cur.shape[0],
    }
    return tool_result("data_drift", inputs=inputs, figures=figures)


LABEL_MAX_CLASSES = 20
"""Labels with at most this many distinct values are compared as classes; more, as a numeric target."""


def label_drift(reference_labels: np.ndarray, current_labels: np.ndarray, *, test: str | None = None) -> ToolResult:
    """Drift of the target: class shares (chi² or JS, by size) for classes, KS / Wasserstein for a numeric target.

    Figures are ``data_drift``'s for the one column ``label`` (``test``, ``statistic``, ``p_value``,
    ``effect_size``, ``drifted``), plus ``reference_shares`` / ``current_shares`` per class for classes.
    """
    ref = as_float_array(reference_labels, "reference_labels", allow_nan=True)
    cur = as_float_array(current_labels, "current_labels", allow_nan=True)
    levels = np.unique(ref[~np.isnan(ref)])
    kind = "categorical" if levels.size <= LABEL_MAX_CLASSES else "numeric"
    result = data_drift(ref, cur, feature_names=["label"], categorical=["label"] if kind == "categorical" else [],
                        tests={"label": test} if test else None)
    if not result.ok:
        return insufficient("label_drift", f"need at least {MIN_SAMPLES} labels in each window",
                            inputs={"n_reference": ref.size, "n_current": cur.size})
    figures = dict(result.figures["features"]["label"])
    if kind == "categorical":
        ref_counts, cur_counts = category_counts(ref, cur)
        classes = np.unique(np.concatenate([ref[~np.isnan(ref)], cur[~np.isnan(cur)]]))
        figures["reference_shares"] = {f"{c:g}": v for c, v in zip(classes, ref_counts / ref_counts.sum(), strict=True)}
        figures["current_shares"] = {f"{c:g}": v for c, v in zip(classes, cur_counts / cur_counts.sum(), strict=True)}
    figures |= {"n_reference": int((~np.isnan(ref)).sum()), "n_current": int((~np.isnan(cur)).sum())}
    return tool_result("label_drift", inputs={"n_reference": ref.size, "n_current": cur.size, "kind": kind},
                       figures=figures)
