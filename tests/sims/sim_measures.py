"""Plain numpy/scipy measurements the sims tests judge the simulated world by (independent of tools/)."""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

from sims.scenario import BUNDLED, load_scenario
from sims.world import SimWorld


def world(name: str, **kwargs) -> SimWorld:
    """A fresh world of a bundled scenario file (e.g. "01_data_drift.yaml")."""
    return SimWorld.from_scenario(load_scenario(BUNDLED / name), **kwargs)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` on reference-quantile bins (NaN ignored)."""
    reference = reference[~np.isnan(reference)]
    current = current[~np.isnan(current)]
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    r = np.clip(np.histogram(reference, edges)[0] / len(reference), 1e-4, None)
    c = np.clip(np.histogram(current, edges)[0] / max(len(current), 1), 1e-4, None)
    return float(np.sum((c - r) * np.log(c / r)))


def ks_p(reference: np.ndarray, current: np.ndarray) -> float:
    return float(ks_2samp(reference[~np.isnan(reference)], current[~np.isnan(current)]).pvalue)


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    assert len(labels) > 0
    return float(np.mean((predictions >= 0.5) == labels))


def reference_accuracy(w: SimWorld, service: str) -> float:
    ref = w.reference(service)
    return accuracy(ref.predictions, ref.labels)


def live_accuracy(w: SimWorld, service: str, minutes: float = 120) -> float:
    """Accuracy on the labels that have matured for requests of the last ``minutes``."""
    win = w.window(service, minutes)
    assert len(win.labels) >= 100, f"only {len(win.labels)} matured labels"
    return accuracy(win.labelled_predictions, win.labels)


def feature_psi(w: SimWorld, service: str, minutes: float = 60) -> dict[str, float]:
    ref, win = w.reference(service), w.window(service, minutes)
    return {n: psi(ref.features[:, j], win.features[:, j]) for j, n in enumerate(ref.feature_names)}


def null_rate(w: SimWorld, service: str, minutes: float = 60) -> float:
    return float(np.isnan(w.window(service, minutes).features).mean(axis=0).max())


def p95(w: SimWorld, service: str, minutes: float = 30) -> float:
    return float(np.max(w.window(service, minutes).metrics["p95_ms"]))


def run_until(w: SimWorld, minute: float) -> SimWorld:
    w.advance(minute - w.elapsed_min)
    return w


def alarms(w: SimWorld, service: str) -> set[str]:
    """The thresholds the monitor applies every tick (60-min windows; accuracy on 120 min) that the service crosses now."""
    from scipy.stats import norm

    info = next(s for s in w.services() if s.name == service)
    ref, win = w.reference(service), w.window(service, 60)
    out = set()
    if len(win.features) and np.isnan(win.features).mean(axis=0).max() > 0.05:
        out.add("nulls")
    for j in range(ref.features.shape[1]):
        col = win.features[:, j]
        if (~np.isnan(col)).sum() >= 30 and psi(ref.features[:, j], col) > 0.25 and ks_p(ref.features[:, j], col) < 0.001:
            out.add("feature_drift")
            break
    if psi(ref.predictions, win.predictions) > 0.25:
        out.add("score_drift")
    recent = w.window(service, 120)
    n = len(recent.labels)
    if n >= 100:
        a_ref, a = accuracy(ref.predictions, ref.labels), accuracy(recent.labelled_predictions, recent.labels)
        pooled = (a_ref * len(ref.labels) + a * n) / (len(ref.labels) + n)
        se = np.sqrt(pooled * (1 - pooled) * (1 / len(ref.labels) + 1 / n))
        if a_ref - a >= 0.05 and norm.sf((a_ref - a) / max(se, 1e-12)) < 0.01:
            out.add("accuracy")
    if len(win.metrics["p95_ms"]) and win.metrics["p95_ms"][-1] > info.slo_p95_ms:
        out.add("latency")
    if win.requests and win.errors / win.requests > 0.02:
        out.add("errors")
    return out
