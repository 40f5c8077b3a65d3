"""Semantic drift of a generative service's outputs: embedding distributions plus length, refusal and repetition.

``semantic_drift(reference_texts, current_texts)`` compares two windows of responses:

- *meaning*: each text is embedded (``embed`` is a parameter: any function from a list of texts to an
  (n, d) matrix; the default is the offline ``hashed_text_embedding``); the shift of the mean
  embedding is reported as a cosine distance and in units of the texts' spread around the pooled
  mean embedding (``centroid_shift_sd``, at most 2: two windows of identical texts), and a Gaussian-kernel MMD² with a permutation p-value tests the whole
  distribution (a change of spread or of mix, not only of the mean);
- *length* in words (KS test, ratio of means), *refusals* (share of texts matching refusal phrases,
  chi-squared test, difference of shares) and *repetition* (share of a text's words that repeat an
  earlier word of it, KS test, difference of means).

Every signal reports an effect size beside its p-value and counts as drifted only when both hold
(``p < alpha`` and the effect at least its minimum), so a large sample does not turn a negligible
change into an alarm. Fewer than ``min_texts`` texts in a window give an "insufficient data" result.

>>> ok = ["Here is what I found about billing: it takes 2 days."] * 40
>>> bad = ["Sorry, I can't help with that request."] * 40
>>> result = semantic_drift(ok, bad)
>>> result.figures["drifted"], result.figures["drifted_signals"]
(True, ['meaning', 'length', 'refusal'])
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from tools._validate import as_float_array, probability
from tools.multivariate_drift import subsample_rows
from tools.results import ToolInputError, ToolResult, insufficient, tool_result
from tools.text_embedding import hashed_text_embedding
from tools.twosample import chi2_counts, ks_columns, mmd_permutation

Embed = Callable[[list[str]], object]
"""A text embedding: a list of n texts to an (n, d) numeric matrix."""

REFUSAL_PATTERN = (
    r"\b(?:sorry|i\s+(?:can ?not|can't|cannot|won't|am unable|'m unable|am not able)|unable to (?:help|assist)"
    r"|as an ai\b)"
)
"""Phrases that mark a refusal (case-insensitive), in English."""

_WORD = re.compile(r"\w+")


def _texts(values: object, name: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ToolInputError(f"{name} must be a list of strings, got {type(values).__name__}")
    texts = ["" if v is None else v for v in values]
    bad = [type(v).__name__ for v in texts if not isinstance(v, str)]
    if bad:
        raise ToolInputError(f"{name} must hold strings (None counts as empty), found {bad[0]}")
    return texts


def text_signals(texts: Sequence[str], refusal_pattern: str = REFUSAL_PATTERN) -> dict[str, np.ndarray]:
    """Per-text ``length`` (words), ``refusal`` (0/1: matches the pattern) and ``repetition`` (repeated word share)."""
    pattern = re.compile(refusal_pattern, re.IGNORECASE)
    lengths, refusals, repetition = [], [], []
    for text in texts:
        words = _WORD.findall(text.lower())
        lengths.append(len(words))
        refusals.append(1.0 if pattern.search(text) else 0.0)
        repetition.append(1.0 - len(set(words)) / len(words) if words else 0.0)
    return {"length": np.asarray(lengths, float), "refusal": np.asarray(refusals), "repetition": np.asarray(repetition)}


def _embedded(embed: Embed, texts: list[str], name: str) -> np.ndarray:
    matrix = as_float_array(embed(texts), f"embedding of {name}", ndim=(2,))
    if matrix.shape[0] != len(texts):
        raise ToolInputError(f"embed returned {matrix.shape[0]} rows for {len(texts)} {name} texts")
    return matrix


def semantic_drift(
    reference_texts: Sequence[str],
    current_texts: Sequence[str],
    *,
    embed: Embed | None = None,
    alpha: float = 0.01,
    min_texts: int = 30,
    min_shift_sd: float = 0.2,
    min_mmd2: float = 0.002,
    min_length_change: float = 0.2,
    min_refusal_change: float = 0.05,
    min_repetition_change: float = 0.1,
    refusal_pattern: str = REFUSAL_PATTERN,
    permutations: int = 200,
    max_rows: int = 400,
    seed: int = 0,
) -> ToolResult:
    """Did the outputs change in meaning, length, refusals or repetition? See the module docstring.

    ``meaning`` drifts when the MMD p-value is below ``alpha`` and either the centroid moved by at least
    ``min_shift_sd`` spreads or MMD² is at least ``min_mmd2``; ``length`` when the KS p-value is
    below ``alpha`` and the mean length changed by at least ``min_length_change`` (relative);
    ``refusal`` and ``repetition`` when their test's p-value is below ``alpha`` and the share moved by
    at least ``min_refusal_change`` / ``min_repetition_change``. Embeddings are subsampled (seeded) to
    ``max_rows`` per window for the MMD, which keeps its cost at O(max_rows²).
    """
    reference, current = _texts(reference_texts, "reference_texts"), _texts(current_texts, "current_texts")
    alpha = probability(alpha, "alpha")
    for name, value in (("min_texts", min_texts), ("permutations", permutations), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ToolInputError(f"{name} must be an integer >= 2, got {value!r}")
    try:
        re.compile(refusal_pattern)
    except re.error as exc:
        raise ToolInputError(f"refusal_pattern is not a valid regular expression: {exc}") from exc
    inputs = {"n_reference": len(reference), "n_current": len(current), "alpha": alpha, "min_texts": min_texts,
              "embedding": getattr(embed, "__name__", type(embed).__name__) if embed else "hashed_text_embedding",
              "permutations": permutations, "max_rows": max_rows, "seed": seed}
    if min(len(reference), len(current)) < min_texts:
        return insufficient("semantic_drift", f"need at least {min_texts} texts in each window, got "
                            f"{len(reference)} and {len(current)}", inputs=inputs)
    embed = embed or hashed_text_embedding
    ref_vectors, cur_vectors = _embedded(embed, reference, "reference"), _embedded(embed, current, "current")
    if ref_vectors.shape[1] != cur_vectors.shape[1]:
        raise ToolInputError(f"embed returned {ref_vectors.shape[1]} and {cur_vectors.shape[1]} columns for the windows")
    figures: dict[str, object] = {"n_reference": len(reference), "n_current": len(current), "alpha": alpha}
    drifted: list[str] = []

    # meaning: centroid shift (cosine, and in units of the pooled spread) and MMD over the whole distribution
    ref_centroid, cur_centroid = ref_vectors.mean(axis=0), cur_vectors.mean(axis=0)
    norms = float(np.linalg.norm(ref_centroid) * np.linalg.norm(cur_centroid))
    pooled = np.vstack([ref_vectors, cur_vectors])
    # The pooled spread includes the shift itself, so the ratio stays finite (<= 2) when both windows are uniform.
    spread = float(np.sqrt(((pooled - pooled.mean(axis=0)) ** 2).sum(axis=1).mean()))
    shift = float(np.linalg.norm(cur_centroid - ref_centroid))
    figures["centroid_cosine_distance"] = 1.0 - float(ref_centroid @ cur_centroid) / norms if norms > 0 else 0.0
    figures["centroid_shift_sd"] = shift / spread if spread > 1e-12 else 0.0
    rng = np.random.default_rng(seed)
    mmd2, mmd_p, _ = mmd_permutation(subsample_rows(ref_vectors, max_rows, rng), subsample_rows(cur_vectors, max_rows, rng),
                                     permutations=permutations, seed=seed)
    figures["mmd2"], figures["mmd_p_value"] = mmd2, mmd_p
    if mmd_p < alpha and (figures["centroid_shift_sd"] >= min_shift_sd or mmd2 >= min_mmd2):  # type: ignore[operator]
        drifted.append("meaning")

    # length, refusals, repetition: one vectorised KS over the two per-text columns
    ref_signals, cur_signals = text_signals(reference, refusal_pattern), text_signals(current, refusal_pattern)
    ref_len, cur_len = ref_signals["length"], cur_signals["length"]
    ref_rep, cur_rep = ref_signals["repetition"], cur_signals["repetition"]
    _, (length_p, repetition_p) = ks_columns(np.c_[ref_len, ref_rep], np.c_[cur_len, cur_rep])
    figures["mean_length_reference"], figures["mean_length_current"] = float(ref_len.mean()), float(cur_len.mean())
    ratio = (cur_len.mean() / ref_len.mean()) if ref_len.mean() > 0 else (1.0 if cur_len.mean() == 0 else float("inf"))
    figures["length_ratio"], figures["length_p_value"] = float(ratio), float(length_p)
    if length_p < alpha and abs(ratio - 1.0) >= min_length_change:
        drifted.append("length")

    ref_refused, cur_refused = ref_signals["refusal"], cur_signals["refusal"]
    _, refusal_p, _ = chi2_counts(np.array([ref_refused.sum(), ref_refused.size - ref_refused.sum()]),
                                  np.array([cur_refused.sum(), cur_refused.size - cur_refused.sum()]))
    figures["refusal_rate_reference"], figures["refusal_rate_current"] = float(ref_refused.mean()), float(cur_refused.mean())
    figures["refusal_p_value"] = refusal_p
    if refusal_p < alpha and abs(cur_refused.mean() - ref_refused.mean()) >= min_refusal_change:
        drifted.append("refusal")

    figures["repetition_reference"], figures["repetition_current"] = float(ref_rep.mean()), float(cur_rep.mean())
    figures["repetition_p_value"] = float(repetition_p)
    if repetition_p < alpha and abs(cur_rep.mean() - ref_rep.mean()) >= min_repetition_change:
        drifted.append("repetition")

    figures["drifted_signals"] = drifted
    figures["drifted"] = bool(drifted)
    return tool_result("semantic_drift", inputs=inputs, figures=figures)
