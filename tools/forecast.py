"""Forecasts of a metric series: additive Holt-Winters with prediction intervals, and time to breach a threshold.

The model is the additive error-correction form (Hyndman et al., *Forecasting with Exponential
Smoothing*, 2008, class ETS(A,A,A)): with one-step error ``e``,
``level += trend + alpha e``, ``trend += beta e``, ``season[t] = season[t - m] + gamma e``. Smoothing
parameters minimise the one-step squared error (Nelder-Mead from a neutral start). Intervals use the
exact h-step variance of that model, ``sigma^2 (1 + sum_j c_j^2)`` with ``c_j = alpha + beta j +
gamma [j mod m == 0]``; the breach probability comes from simulating the same model forward with a
seeded generator, so it is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from tools._validate import as_float_array, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result

MAX_FIT_POINTS = 1000
"""The fit uses at most the most recent this many points (older behaviour matters less, and it bounds cost)."""


@dataclass(frozen=True)
class HoltWintersFit:
    """A fitted model: parameters, final state, one-step residual sigma."""

    alpha: float
    beta: float
    gamma: float
    level: float
    trend: float
    season: tuple[float, ...]  # the next len(season) seasonal terms, in order
    sigma: float
    n: int

    @property
    def period(self) -> int:
        """Season length (1 when non-seasonal)."""
        return len(self.season)

    def mean(self, horizon: int) -> np.ndarray:
        """Point forecasts for steps 1..horizon."""
        steps = np.arange(1, horizon + 1)
        return self.level + steps * self.trend + np.asarray(self.season)[(steps - 1) % self.period]

    def std(self, horizon: int) -> np.ndarray:
        """Standard deviation of the h-step forecast error for steps 1..horizon."""
        j = np.arange(1, horizon)
        seasonal = (j % self.period == 0) if self.period > 1 else np.zeros(j.size, bool)
        c = self.alpha + self.beta * j + self.gamma * seasonal
        return self.sigma * np.sqrt(1.0 + np.r_[0.0, np.cumsum(c**2)])

    def simulate(self, horizon: int, paths: int, seed: int) -> np.ndarray:
        """Sample paths (paths, horizon) of the model driven by Gaussian errors."""
        rng = np.random.default_rng(seed)
        errors = rng.normal(0.0, self.sigma, (paths, horizon))
        level = np.full(paths, self.level)
        trend = np.full(paths, self.trend)
        season = np.tile(np.asarray(self.season), (paths, 1))
        out = np.empty((paths, horizon))
        for h in range(horizon):  # vectorised over paths
            k = h % self.period
            e = errors[:, h]
            out[:, h] = level + trend + season[:, k] + e
            level = level + trend + self.alpha * e
            trend = trend + self.beta * e
            season[:, k] += self.gamma * e
        return out


def _run(y: list[float], m: int, alpha: float, beta: float, gamma: float, level: float, trend: float,
         season: list[float]) -> tuple[float, float, float, list[float]]:
    """One-step filtering pass; returns (sum of squared errors, level, trend, season ring)."""
    season = list(season)
    sse = 0.0
    for t, x in enumerate(y):
        k = t % m
        e = x - (level + trend + season[k])
        sse += e * e
        level = level + trend + alpha * e
        trend = trend + beta * e
        season[k] += gamma * e
    return sse, level, trend, season


def fit_holt_winters(series: np.ndarray, period: int) -> HoltWintersFit:
    """Fit additive Holt-Winters (Holt's linear trend when ``period`` <= 1) by one-step least squares."""
    y = np.asarray(series, dtype=float)[-MAX_FIT_POINTS:]
    m = period if period > 1 else 1
    if m > 1:
        first, second = y[:m].mean(), y[m : 2 * m].mean()
        level0, trend0 = first, (second - first) / m
        season0 = (y[:m] - first - trend0 * (np.arange(m) - (m - 1) / 2)).tolist()
        level0 -= trend0 * (m - 1) / 2 + trend0  # so the first prediction lands on y[0]'s phase
    else:
        level0, trend0, season0 = y[0], (y[min(9, y.size - 1)] - y[0]) / max(1, min(9, y.size - 1)), [0.0]
    values = y.tolist()

    def sse(params: np.ndarray) -> float:
        a, b, g = np.clip(params, 0.0, 1.0)
        if m == 1:
            g = 0.0
        return _run(values, m, a, b * a, g * (1.0 - a), level0, trend0, season0)[0]

    res = optimize.minimize(sse, x0=np.array([0.3, 0.05, 0.1]), method="Nelder-Mead",
                            options={"maxfev": 150, "xatol": 1e-3, "fatol": 1e-9})
    a, b, g = np.clip(res.x, 0.0, 1.0)
    alpha, beta, gamma = a, b * a, (0.0 if m == 1 else g * (1.0 - a))  # usual admissible region
    total, level, trend, season = _run(values, m, alpha, beta, gamma, level0, trend0, season0)
    k = len(values) % m
    n_params = 3 if m > 1 else 2
    sigma = math.sqrt(total / max(1, len(values) - n_params))
    return HoltWintersFit(float(alpha), float(beta), float(gamma), level, trend, tuple(season[k:] + season[:k]),
                          sigma, len(values))


def _check(series: object, period: object, horizon: object) -> tuple[np.ndarray, int, int]:
    y = as_float_array(series, "series")
    for name, value in (("period", period), ("horizon", horizon)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ToolInputError(f"{name} must be a non-negative integer, got {value!r}")
    if horizon < 1:
        raise ToolInputError("horizon must be >= 1")
    return y, int(period), int(horizon)


def _min_points(period: int) -> int:
    return max(10, 2 * period + 2) if period > 1 else 10


def holt_winters_forecast(series: np.ndarray, *, period: int, horizon: int, level: float = 0.95) -> ToolResult:
    """Point forecasts and ``level`` prediction intervals for the next ``horizon`` steps (period 0/1: no season)."""
    y, period, horizon = _check(series, period, horizon)
    level = probability(level, "level")
    inputs = {"n": y.size, "period": period, "horizon": horizon, "level": level}
    if y.size < _min_points(period):
        return insufficient("forecast", f"need at least {_min_points(period)} points for period {period}",
                            inputs=inputs)
    fit = fit_holt_winters(y, period)
    mean = fit.mean(horizon)
    half = stats.norm.ppf(0.5 + level / 2) * fit.std(horizon)
    figures = {
        "forecast": mean,
        "lower": mean - half,
        "upper": mean + half,
        "level": level,
        "alpha": fit.alpha,
        "beta": fit.beta,
        "gamma": fit.gamma,
        "sigma": fit.sigma,
        "n": y.size,
    }
    return tool_result("forecast", inputs=inputs, figures=figures)


def time_to_breach(
    series: np.ndarray,
    threshold: float,
    period: int,
    horizon: int,
    *,
    direction: Literal["above", "below"] | None = None,
    paths: int = 2000,
    seed: int = 0,
) -> ToolResult:
    """When will the series cross ``threshold``? Forecast crossing step and probability of crossing within ``horizon``.

    ``direction`` defaults to "above" when the threshold is above the last value, else "below".
    ``steps_to_breach`` is the first step whose point forecast crosses (None if none does within the
    horizon); ``probability`` is the share of simulated paths that cross at any step within it.
    """
    y, period, horizon = _check(series, period, horizon)
    limit = float(as_float_array([threshold], "threshold")[0])
    if direction not in (None, "above", "below"):
        raise ToolInputError(f"direction must be 'above', 'below' or None, got {direction!r}")
    if isinstance(paths, bool) or not isinstance(paths, int) or paths < 100:
        raise ToolInputError(f"paths must be an integer >= 100, got {paths!r}")
    inputs = {"n": y.size, "threshold": limit, "period": period, "horizon": horizon, "direction": direction}
    if y.size < _min_points(period):
        return insufficient("time_to_breach", f"need at least {_min_points(period)} points for period {period}",
                            inputs=inputs)
    side = direction or ("above" if limit > y[-1] else "below")
    sign = 1.0 if side == "above" else -1.0
    fit = fit_holt_winters(y, period)
    mean = fit.mean(horizon)
    crossed_mean = np.flatnonzero(sign * (mean - limit) >= 0)
    sims = fit.simulate(horizon, paths, seed)
    crossed = sign * (sims - limit) >= 0
    ever = crossed.any(axis=1)
    first = np.argmax(crossed, axis=1) + 1
    figures = {
        "already_breached": bool(sign * (y[-1] - limit) >= 0),
        "breach_expected": bool(crossed_mean.size),
        "steps_to_breach": int(crossed_mean[0]) + 1 if crossed_mean.size else None,
        "probability": float(ever.mean()),
        "median_steps_to_breach": float(np.median(first[ever])) if ever.mean() >= 0.5 else None,
        "forecast_at_horizon": float(mean[-1]),
        "threshold": limit,
        "direction": side,
        "horizon": horizon,
        "sigma": fit.sigma,
    }
    return tool_result("time_to_breach", inputs=inputs, figures=figures)
