"""Compare OpsGraph's numeric tools with the libraries people would otherwise use, on the same streams in one run.

Usage: ``python -m bench.peers [--nab DIR] [--quick]``. Peers are optional (``pip install -e .[bench]``);
a peer that is not installed is reported as such and skipped. Sections:

1. change detectors on generated streams (stationary: false alarms per 100k points; a 1-sigma mean
   shift: detection delay and misses) and on NAB's artificial series, per-update throughput, ours
   against River's ADWIN / PageHinkley / KSWIN (defaults on both sides);
2. data drift over many features, ours (``data_drift``, ``ks_columns``, ``ReferenceProfile.psi``)
   against Evidently's DataDriftPreset and a scipy per-column loop: time ratio and verdicts;
3. label-free accuracy estimation error against realised accuracy, ours beside NannyML's CBPE on the same
   chunks (NannyML without CUDA: ``make bench-deps``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from tools.adwin import ADWIN
from tools.changepoint import CUSUM, PageHinkley
from tools.changepoint_vector import PageHinkleyVector
from tools.drift import ReferenceProfile, data_drift
from tools.estimation import estimate_performance
from tools.twosample import ks_columns


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _ours() -> dict:
    return {"opsgraph PageHinkley": PageHinkley, "opsgraph CUSUM": CUSUM, "opsgraph ADWIN": ADWIN}


def _river() -> dict:
    if not _have("river"):
        return {}
    from river import drift

    return {"river PageHinkley": drift.PageHinkley, "river ADWIN": drift.ADWIN, "river KSWIN": drift.KSWIN}


def _run(factory, series: np.ndarray) -> tuple[list[int], float]:
    detector = factory()
    hits = []
    start = time.perf_counter()
    for i, x in enumerate(series.tolist()):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return hits, time.perf_counter() - start


def detectors(n_stationary: int, n_shifted: int, nab: Path | None) -> None:
    """False alarms, delays and throughput of streaming change detectors."""
    rng = np.random.default_rng(0)
    stationary = [rng.normal(50, 5, 10_000) for _ in range(n_stationary)]
    shifted = [np.r_[rng.normal(50, 5, 2000), rng.normal(55, 5, 1000)] for _ in range(n_shifted)]
    nab_series = []
    if nab is not None:
        for path in sorted((nab / "artificialNoAnomaly").glob("*.csv")):
            nab_series.append(np.loadtxt(path, delimiter=",", skiprows=1, usecols=1))
    print(f"\n## Change detectors (defaults): {n_stationary} x 10,000 stationary N(50, 5) points; "
          f"{n_shifted} streams with a +1 sigma shift at 2,000; NAB artificialNoAnomaly ({len(nab_series)} files)")
    print("| detector | false alarms / 100k (generated) | false alarms (NAB no-anomaly, "
          f"{sum(s.size for s in nab_series)} pts) | median delay | missed | updates/s |")
    print("|---|---|---|---|---|---|")
    speed = {}
    for name, factory in (_ours() | _river()).items():
        cap = 3 if "KSWIN" in name else None  # KSWIN runs a KS test per update: slow, so fewer streams
        fa = seconds = 0.0
        points = 0
        for s in stationary[:cap]:
            hits, dt = _run(factory, s)
            fa += len(hits)
            seconds += dt
            points += s.size
        delays, missed = [], 0
        for s in shifted[:cap]:
            hits = [h for h in _run(factory, s)[0] if h >= 2000]
            delays.append(hits[0] - 2000) if hits else None
            missed += not hits
        nab_fa = sum(len(_run(factory, s)[0]) for s in nab_series)
        speed[name] = points / seconds
        print(f"| {name} | {fa / points * 1e5:.1f} | {nab_fa} | {np.median(delays) if delays else 'n/a'} | "
              f"{missed}/{len(shifted[:cap])} | {points / seconds:,.0f} |")
    series = rng.normal(50, 5, size=(2000, 1000))
    vector = PageHinkleyVector(series.shape[1])
    start = time.perf_counter()
    for row in series:
        vector.update(row)
    rate = series.size / (time.perf_counter() - start)
    river_ph = speed.get("river PageHinkley")
    ratio = f", {rate / river_ph:.1f}x River's PageHinkley" if river_ph else ""
    print(f"\nVectorised PageHinkley over {series.shape[1]} series at once: {rate:,.0f} updates/s{ratio}.")


def drift(quick: bool) -> None:
    """Data drift over many features: time and verdicts, ours against Evidently and scipy."""
    rng = np.random.default_rng(1)
    d = 50 if quick else 200
    print(f"\n## Data drift, {d} numeric features")
    print("| case | ours (data_drift) | Evidently DataDriftPreset | ratio | scipy ks_2samp loop | ratio |")
    print("|---|---|---|---|---|---|")
    for n, shift in ((1000, 0.0), (1000, 0.3), (50_000, 0.02)):
        ref = rng.normal(size=(n, d))
        cur = rng.normal(size=(n, d))
        cur[:, : d // 10] += shift
        start = time.perf_counter()
        ours = data_drift(ref, cur, categorical=[])
        t_ours = time.perf_counter() - start
        start = time.perf_counter()
        for j in range(d):
            stats.ks_2samp(ref[:, j], cur[:, j])
        t_scipy = time.perf_counter() - start
        evid, t_evid = "not installed", None
        if _have("evidently"):
            import pandas as pd
            from evidently import Report
            from evidently.presets import DataDriftPreset

            names = [f"f{j}" for j in range(d)]
            start = time.perf_counter()
            snap = Report([DataDriftPreset()]).run(pd.DataFrame(cur, columns=names), pd.DataFrame(ref, columns=names))
            t_evid = time.perf_counter() - start
            count = snap.dict()["metrics"][0]["value"]["count"]
            evid = f"{t_evid * 1e3:,.0f} ms, {int(count)} drifted"
        ratio = f"{t_evid / t_ours:.0f}x" if t_evid else "n/a"
        print(f"| n={n:,}, {d // 10} shifted by {shift} sd | {t_ours * 1e3:,.0f} ms, {len(ours.figures['drifted'])} "
              f"drifted | {evid} | {ratio} | {t_scipy * 1e3:,.0f} ms | {t_scipy / t_ours:.0f}x |")
    ref, cur = rng.normal(size=(1000, 5000)), rng.normal(size=(1000, 5000))
    start = time.perf_counter()
    ks_columns(ref, cur)
    ks_rate = 5000 / (time.perf_counter() - start)
    profile = ReferenceProfile(rng.normal(size=(10_000, 100)))
    cur = rng.normal(size=(100_000, 100))
    start = time.perf_counter()
    profile.psi(cur)
    psi_rate = cur.size / (time.perf_counter() - start)
    print(f"\nKS over 5,000 series at 1,000 vs 1,000: {ks_rate:,.0f} series/s. PSI with a precomputed "
          f"ReferenceProfile (10 bins): {psi_rate / 1e6:,.1f}M values/s.")


SHIFTS = ((1, 1), (5, 5), (0.5, 2), (3, 1), (2, 0.5))
"""Beta(a, b) score distributions of the current chunks in the estimation section."""


def _estimation_cases(rng: np.random.Generator, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One (scores, labels) chunk per Beta shift, labels drawn as for the over-confident reference model."""
    cases = []
    for a, b in SHIFTS:
        s = rng.beta(a, b, size)
        cases.append((s, (rng.random(size) < s**2).astype(int)))
    return cases


def nannyml_cbpe(ref_y: np.ndarray, ref_s: np.ndarray, cases: list[tuple[np.ndarray, np.ndarray]],
                 threshold: float = 0.5) -> list[tuple[float, float]] | None:
    """NannyML CBPE's (estimated, realised) accuracy per case, one chunk each; None when nannyml is missing."""
    if not _have("nannyml"):
        return None
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # no usage telemetry (and no network here)
    import nannyml
    import pandas as pd

    def frame(scores: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"score": scores, "pred": (scores >= threshold).astype(int), "label": labels})

    size = cases[0][0].size
    estimator = nannyml.CBPE(problem_type="classification_binary", y_pred_proba="score", y_pred="pred",
                             y_true="label", metrics=["accuracy"], chunk_size=size)
    with warnings.catch_warnings():  # "number of chunks is too low": 5,000 reference rows make 3 chunks
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(frame(ref_s, ref_y))
        result = estimator.estimate(pd.concat([frame(s, y) for s, y in cases], ignore_index=True))
    table = result.filter(period="analysis").to_df()
    if len(table) != len(cases):
        raise RuntimeError(f"NannyML made {len(table)} analysis chunks for {len(cases)} cases")
    return list(zip(table[("accuracy", "value")].tolist(), table[("accuracy", "realized")].tolist(), strict=True))


def _estimation_row(label: str, f: dict, theirs: tuple[float, float] | None, errors: dict[str, list[float]]) -> str:
    """One table row: realised, our estimate and error, the no-change baseline, NannyML's estimate and error."""
    errors["ours"].append(abs(f["estimation_error"]))
    nanny = "not installed (`make bench-deps`) | n/a"
    if theirs is not None:
        if abs(theirs[1] - f["realised_accuracy"]) > 1e-12:  # same chunks, same labels: must agree
            raise RuntimeError(f"NannyML's realised accuracy {theirs[1]} differs from ours {f['realised_accuracy']}")
        errors["nannyml"].append(abs(theirs[0] - f["realised_accuracy"]))
        errors["between"].append(abs(theirs[0] - f["estimated_accuracy"]))
        nanny = f"{theirs[0]:.3f} | {errors['nannyml'][-1]:.3f}"
    return (f"| {label} | {f['realised_accuracy']:.3f} | {f['estimated_accuracy']:.3f} | {errors['ours'][-1]:.3f} | "
            f"{abs(f['reference_accuracy'] - f['realised_accuracy']):.3f} | {nanny} |")


def estimation() -> None:
    """Estimated vs realised accuracy under covariate shift, ours against NannyML's CBPE when installed."""
    rng = np.random.default_rng(2)
    ref_s = rng.random(5000)
    ref_y = (rng.random(5000) < ref_s**2).astype(int)  # over-confident model: calibration matters
    cases = _estimation_cases(rng, 2000)
    nanny = nannyml_cbpe(ref_y, ref_s, cases) or [None] * len(cases)
    print("\n## Label-free accuracy estimation (|estimated - realised|, 2,000-row chunks, Beta(a, b) scores)")
    print("| shift | realised | ours (CBPE idea) | error | no-change baseline error | NannyML CBPE | NannyML error |")
    print("|---|---|---|---|---|---|---|")
    errors: dict[str, list[float]] = {"ours": [], "nannyml": [], "between": []}
    for (a, b), (s, y), theirs in zip(SHIFTS, cases, nanny, strict=True):
        f = estimate_performance(ref_y, ref_s, s, current_labels=y).figures
        print(_estimation_row(f"Beta({a}, {b})", f, theirs, errors))
    mean = {k: f"{np.mean(v):.4f}" if v else "n/a" for k, v in errors.items()}
    between = f" Largest |ours - NannyML| estimate: {max(errors['between']):.1e}." if errors["between"] else ""
    print(f"\nMean |error| over the {len(cases)} chunks: ours {mean['ours']}, NannyML CBPE {mean['nannyml']}.{between}")


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "nab" / "data")
    parser.add_argument("--quick", action="store_true", help="fewer streams and features")
    args = parser.parse_args(argv)
    nab = args.nab if args.nab.is_dir() else None
    peers = {p: _have(p) for p in ("river", "evidently", "nannyml")}
    print("peers installed:", ", ".join(f"{p}={'yes' if ok else 'no'}" for p, ok in peers.items()))
    detectors(5 if args.quick else 20, 10 if args.quick else 40, nab)
    drift(args.quick)
    estimation()


if __name__ == "__main__":
    main()
