"""Page-Hinkley and CUSUM over many series at once: one numpy step updates every series.

The same detectors as ``tools.changepoint`` (same self-starting standardisation, same defaults,
same detections point for point), with state held in arrays over a series dimension, so watching
ten thousand metrics costs one vector operation per tick instead of ten thousand Python calls.
``update(x)`` takes one value per series (NaN = no observation for that series this tick) and
returns self; ``drift_detected`` is then a boolean array and ``direction`` an array of +1 / -1 / 0.

>>> import numpy as np
>>> rng = np.random.default_rng(7)
>>> x = rng.normal(100, 5, size=(500, 3))
>>> x[300:, 1] += 15
>>> detector = PageHinkleyVector(3)
>>> hits = np.array([detector.update(row).drift_detected for row in x])
>>> bool(hits[:, 0].any()), 300 <= int(np.argmax(hits[:, 1])) < 330, bool(hits[:, 2].any())
(False, True, False)
"""

from __future__ import annotations

import numpy as np

from tools.changepoint import CUSUM, PageHinkley
from tools.results import ToolInputError


class _VectorDetector:
    """Shared self-starting standardisation over a series dimension; subclasses implement ``_step``."""

    scalar: type = object

    def __init__(self, n_series: int, **params: float) -> None:
        if isinstance(n_series, bool) or not isinstance(n_series, (int, np.integer)) or n_series < 1:
            raise ToolInputError(f"n_series must be a positive integer, got {n_series!r}")
        template = self.scalar(**params)  # validates the parameters exactly as the scalar detector does
        self.params = {k: getattr(template, k) for k in params} | {"burn_in": template.burn_in}
        self.burn_in = template.burn_in
        self.n_series = int(n_series)
        self._n = np.zeros(n_series, dtype=np.int64)
        self._mean = np.zeros(n_series)
        self._m2 = np.zeros(n_series)
        self._drift = np.zeros(n_series, dtype=bool)
        self._direction = np.zeros(n_series, dtype=np.int8)
        self._reset(np.ones(n_series, dtype=bool))

    def _reset(self, which: np.ndarray) -> None:
        self._n[which] = 0
        self._mean[which] = 0.0
        self._m2[which] = 0.0

    @property
    def drift_detected(self) -> np.ndarray:
        """Per series: True when the last update detected a change."""
        return self._drift

    @property
    def direction(self) -> np.ndarray:
        """Per series: +1 (up) or -1 (down) for the most recent detection, 0 before the first one."""
        return self._direction

    @property
    def n(self) -> np.ndarray:
        """Per series: observations since creation or the last detection."""
        return self._n

    def update(self, x: object) -> _VectorDetector:
        """Feed one value per series (NaN skips that series this tick); returns self."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.n_series,):
            raise ToolInputError(f"need {self.n_series} values, got shape {x.shape}")
        if np.isinf(x).any():
            raise ToolInputError("observations must be finite or NaN")
        seen = ~np.isnan(x)
        active = seen & (self._n >= self.burn_in)
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt(self._m2 / (self._n - 1))
        scale = np.maximum(np.nan_to_num(std), 1e-9 * np.maximum(1.0, np.abs(self._mean)))
        z = np.where(active, (np.where(seen, x, 0.0) - self._mean) / scale, 0.0)
        step = self._step(z, active)
        self._drift = step != 0
        self._direction = np.where(self._drift, step, self._direction).astype(np.int8)
        self._reset(self._drift)
        grow = seen & ~self._drift
        self._n += grow
        delta = np.where(grow, x - self._mean, 0.0)
        self._mean += np.where(grow, delta / np.maximum(self._n, 1), 0.0)
        self._m2 += np.where(grow, delta * (np.where(grow, x, 0.0) - self._mean), 0.0)
        return self

    def _step(self, z: np.ndarray, active: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class PageHinkleyVector(_VectorDetector):
    """Two-sided Page-Hinkley over many series; parameters as ``tools.changepoint.PageHinkley``."""

    scalar = PageHinkley

    def __init__(self, n_series: int, *, burn_in: int = 50, delta: float = 0.25, threshold: float = 25.0) -> None:
        super().__init__(n_series, burn_in=burn_in, delta=delta, threshold=threshold)
        self.delta = self.params["delta"]
        self.threshold = self.params["threshold"]

    def _reset(self, which: np.ndarray) -> None:
        super()._reset(which)
        for name in ("_up", "_up_min", "_down", "_down_max"):
            if not hasattr(self, name):
                setattr(self, name, np.zeros(self.n_series))
            getattr(self, name)[which] = 0.0

    def _step(self, z: np.ndarray, active: np.ndarray) -> np.ndarray:
        self._up += np.where(active, z - self.delta, 0.0)
        np.minimum(self._up_min, self._up, out=self._up_min)
        self._down += np.where(active, z + self.delta, 0.0)
        np.maximum(self._down_max, self._down, out=self._down_max)
        up = active & (self._up - self._up_min > self.threshold)
        down = active & ~up & (self._down_max - self._down > self.threshold)
        return up.astype(np.int8) - down.astype(np.int8)


class CUSUMVector(_VectorDetector):
    """Two-sided tabular CUSUM over many series; parameters as ``tools.changepoint.CUSUM``."""

    scalar = CUSUM

    def __init__(self, n_series: int, *, burn_in: int = 50, k: float = 0.5, h: float = 12.0) -> None:
        super().__init__(n_series, burn_in=burn_in, k=k, h=h)
        self.k = self.params["k"]
        self.h = self.params["h"]

    def _reset(self, which: np.ndarray) -> None:
        super()._reset(which)
        for name in ("_high", "_low"):
            if not hasattr(self, name):
                setattr(self, name, np.zeros(self.n_series))
            getattr(self, name)[which] = 0.0

    def _step(self, z: np.ndarray, active: np.ndarray) -> np.ndarray:
        self._high = np.where(active, np.maximum(0.0, self._high + z - self.k), self._high)
        self._low = np.where(active, np.maximum(0.0, self._low - z - self.k), self._low)
        up = active & (self._high > self.h)
        down = active & ~up & (self._low > self.h)
        return up.astype(np.int8) - down.astype(np.int8)
