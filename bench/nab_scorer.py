"""NAB scoring (Numenta Anomaly Benchmark v1.1 rules): windowed scaled-sigmoid scores, corpus-wide threshold sweep.

Follows numenta/NAB ``nab/sweeper.py`` and ``nab/runner.py``:

- the first 15% of each file (at most 750 rows) is probationary and not scored;
- a detection is a row whose anomaly score is >= the threshold;
- inside a window, a row at relative position ``p = -(right - i + 1) / width`` is worth
  ``tp_weight * s(p) / s(-1)`` with ``s(p) = 2 / (1 + exp(5 p)) - 1``; only a window's best (earliest)
  detection counts, and a window with none costs ``fn_weight``;
- outside windows, a detection costs ``fp_weight * s(p)`` with ``p`` the distance past the previous
  window's right edge in window widths (``-fp_weight`` before any window or from 3 widths on);
- the threshold is the one that maximises the summed score over the whole corpus, per profile;
- the normalised score is ``100 (S - S_null) / (S_perfect - S_null)`` where the null detector emits a
  constant and the perfect one scores ``tp_weight`` on every labelled window.

Usage: ``python -m bench.nab_scorer --results OUT --windows combined_windows.json [--detector opsgraph]``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROFILES: dict[str, tuple[float, float, float]] = {  # (tp, fn, fp) weights
    "standard": (1.0, 1.0, 0.11),
    "reward_low_FP_rate": (1.0, 1.0, 0.22),
    "reward_low_FN_rate": (1.0, 2.0, 0.11),
}
PROBATION_FRACTION = 0.15


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid of a relative position: ~1 at a window's left edge, 0 at its right, -1 far past it."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation_length(n_rows: int) -> int:
    """Rows at the start of a file that are not scored."""
    return int(min(math.floor(PROBATION_FRACTION * n_rows), PROBATION_FRACTION * 5000))


@dataclass(frozen=True)
class FileRows:
    """The scorable rows of one file: anomaly scores, window id (-1 outside), and NAB's unweighted row values."""

    name: str
    scores: np.ndarray
    window: np.ndarray  # global window id or -1
    in_window_value: np.ndarray  # s(p) / s(-1) inside windows
    outside_value: np.ndarray  # s(p) outside windows (negative)
    n_windows: int


def file_rows(name: str, timestamps: np.ndarray, scores: np.ndarray, windows: list[tuple[np.datetime64, np.datetime64]],
              first_window_id: int) -> FileRows:
    """Per-row window membership and sweep values of one file, probationary rows dropped."""
    n = len(timestamps)
    window = np.full(n, -1)
    inside = np.zeros(n)
    outside = np.full(n, -1.0)
    max_tp = scaled_sigmoid(-1.0)
    prev_right: int | None = None
    prev_width = 0.0
    bounds = []
    for start, end in windows:
        left = int(np.searchsorted(timestamps, start, side="left"))
        right = int(np.searchsorted(timestamps, end, side="right")) - 1
        bounds.append((left, right))
    k = 0
    for i in range(n):
        if k < len(bounds) and bounds[k][0] <= i <= bounds[k][1]:
            left, right = bounds[k]
            width = float(right - left + 1)
            window[i] = first_window_id + k
            inside[i] = scaled_sigmoid(-(right - i + 1) / width) / max_tp
            if i == right:
                prev_right, prev_width = right, width
                k += 1
        else:
            position = 3.0 if prev_right is None else abs(prev_right - i) / max(prev_width - 1.0, 1.0)
            outside[i] = scaled_sigmoid(position)
    keep = np.arange(n) >= probation_length(n)
    scored_windows = len(set(window[keep][window[keep] >= 0].tolist()))
    return FileRows(name, np.asarray(scores, float)[keep], window[keep], inside[keep], outside[keep], scored_windows)


def sweep(files: list[FileRows], weights: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Corpus score at every distinct threshold (descending), as (thresholds, scores); detection is score >= t."""
    tp_w, fn_w, fp_w = weights
    scores = np.concatenate([f.scores for f in files])
    window = np.concatenate([f.window for f in files])
    value = np.where(window >= 0, np.concatenate([f.in_window_value for f in files]) * tp_w,
                     np.concatenate([f.outside_value for f in files]) * fp_w)
    n_windows = sum(f.n_windows for f in files)
    order = np.argsort(-scores, kind="stable")
    scores, window, value = scores[order], window[order], value[order]
    change = np.where(window < 0, value, 0.0)
    best: dict[int, float] = {}
    for j in np.flatnonzero(window >= 0).tolist():  # a window counts its best (earliest) detection only
        w = int(window[j])
        old = best.get(w, -fn_w)
        if value[j] > old:
            best[w] = float(value[j])
            change[j] = value[j] - old
    totals = -fn_w * n_windows + np.cumsum(change)
    last_of_value = np.r_[scores[1:] != scores[:-1], True]
    thresholds = np.r_[np.inf, scores[last_of_value]]
    return thresholds, np.r_[-fn_w * n_windows, totals[last_of_value]]


def best_threshold(files: list[FileRows], weights: tuple[float, float, float]) -> tuple[float, float]:
    """The threshold maximising the corpus score (the highest one on ties), and that score."""
    thresholds, totals = sweep(files, weights)
    i = int(np.argmax(totals))
    return float(thresholds[i]), float(totals[i])


def file_score(rows: FileRows, threshold: float, weights: tuple[float, float, float]) -> dict[str, float | int]:
    """One file's score and counts at a threshold."""
    tp_w, fn_w, fp_w = weights
    hit = rows.scores >= threshold
    fp = hit & (rows.window < 0)
    detected = {int(w): float(rows.in_window_value[(rows.window == w) & hit].max(initial=-np.inf))
                for w in set(rows.window[rows.window >= 0].tolist())}
    found = [v for v in detected.values() if np.isfinite(v)]
    score = float(fp_w * rows.outside_value[fp].sum() + tp_w * sum(found) - fn_w * (len(detected) - len(found)))
    return {"score": score, "tp": len(found), "fn": len(detected) - len(found), "fp": int(fp.sum())}


def read_series(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Timestamps (datetime64), values and, when present, the anomaly_score column of a NAB-style CSV."""
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:] if line]
    timestamps = np.array([r[header.index("timestamp")] for r in rows], dtype="datetime64[s]")
    values = np.array([float(r[header.index("value")]) for r in rows])
    scores = (np.array([float(r[header.index("anomaly_score")]) for r in rows])
              if "anomaly_score" in header else None)
    return timestamps, values, scores


def load_results(results: Path, windows: Mapping[str, list[list[str]]], detector: str = "opsgraph") -> list[FileRows]:
    """Every result file under ``results`` that the windows file names, with its rows labelled by window."""
    files: list[FileRows] = []
    window_id = 0
    for key in sorted(windows):
        category, name = key.split("/")
        path = results / category / f"{detector}_{name}"
        if not path.exists():
            continue
        timestamps, _, scores = read_series(path)
        if scores is None:
            raise ValueError(f"{path} has no anomaly_score column")
        limits = [(np.datetime64(s[:19].replace(" ", "T")), np.datetime64(e[:19].replace(" ", "T")))
                  for s, e in windows[key]]
        files.append(file_rows(key, timestamps, scores, limits, window_id))
        window_id += len(limits)
    if not files:
        raise ValueError(f"no {detector}_*.csv results under {results} match the windows file")
    return files


def score_corpus(results: Path, windows: Mapping[str, list[list[str]]], detector: str = "opsgraph") -> dict:
    """Normalised NAB scores per profile for a results folder laid out as ``category/<detector>_<name>.csv``."""
    files = load_results(results, windows, detector)
    nulls = [FileRows(f.name, np.full(f.scores.shape, 0.5), f.window, f.in_window_value, f.outside_value,
                      f.n_windows) for f in files]
    window_id = sum(f.n_windows for f in files)
    report: dict = {"files": len(files), "windows": window_id, "profiles": {}}
    for profile, weights in PROFILES.items():
        threshold, raw = best_threshold(files, weights)
        _, null = best_threshold(nulls, weights)
        perfect = window_id * weights[0]
        per_file = {f.name: file_score(f, threshold, weights) for f in files}
        categories: dict[str, dict[str, float]] = {}
        for name, s in per_file.items():
            cat = categories.setdefault(name.split("/")[0], {"score": 0.0, "tp": 0, "fn": 0, "fp": 0})
            for k in cat:
                cat[k] += s[k]
        report["profiles"][profile] = {
            "score": 100.0 * (raw - null) / (perfect - null),
            "raw": raw,
            "null": null,
            "perfect": perfect,
            "threshold": threshold,
            "categories": categories,
            "files": per_file,
        }
    return report


def normalised(raw: float, n_windows: int, weights: tuple[float, float, float]) -> float:
    """NAB's normalised score of a raw score over ``n_windows`` windows (null detector 0, perfect 100)."""
    tp_w, fn_w, _ = weights
    return 100.0 * (raw + fn_w * n_windows) / ((tp_w + fn_w) * n_windows) if n_windows else math.nan


def category_report(results: Path, windows: Mapping[str, list[list[str]]], detector: str = "opsgraph",
                    profile: str = "standard") -> dict[str, dict[str, float]]:
    """Per category: its normalised score at the corpus threshold and held out (leave-one-category-out).

    ``corpus`` scores the category at the threshold chosen on the whole corpus; ``held_out`` at the threshold
    chosen on every other category, which is how the detector meets series it was not tuned on. The null
    detector (no detections) scores 0 and a perfect one 100 within each category. ``ALL`` under
    ``held_out`` sums the held-out raw scores of all categories.
    """
    weights = PROFILES[profile]
    files = load_results(results, windows, detector)
    threshold, _ = best_threshold(files, weights)
    report: dict[str, dict[str, float]] = {}
    held_raw = 0.0
    held_windows = 0
    for category in sorted({f.name.split("/")[0] for f in files}):
        inside = [f for f in files if f.name.split("/")[0] == category]
        n_windows = sum(f.n_windows for f in inside)
        if not n_windows:
            continue
        rest = [f for f in files if f.name.split("/")[0] != category]
        rest_threshold = best_threshold(rest, weights)[0] if rest else threshold
        raw = sum(float(file_score(f, threshold, weights)["score"]) for f in inside)
        held = sum(float(file_score(f, rest_threshold, weights)["score"]) for f in inside)
        held_raw += held
        held_windows += n_windows
        report[category] = {"corpus": normalised(raw, n_windows, weights),
                            "held_out": normalised(held, n_windows, weights), "held_out_threshold": rest_threshold}
    report["ALL"] = {"held_out": normalised(held_raw, held_windows, weights)}
    return report


def main(argv: list[str] | None = None) -> None:
    """Command line: score a results folder and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--windows", type=Path, required=True)
    parser.add_argument("--detector", default="opsgraph")
    parser.add_argument("--full", action="store_true", help="include per-file scores")
    args = parser.parse_args(argv)
    windows = json.loads(args.windows.read_text())
    report = score_corpus(args.results, windows, args.detector)
    report["categories_standard_normalised"] = category_report(args.results, windows, args.detector)
    if not args.full:
        for profile in report["profiles"].values():
            profile.pop("files")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
