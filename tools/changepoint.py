"""Streaming change detection on a metric stream: Page-Hinkley and CUSUM detectors, and a one-call scan.

Both detectors share one tiny API in the style of River: ``update(x)`` returns the detector, then read
``drift_detected``. They are scale-invariant and self-starting: after a burn-in, each point is
standardised by the mean and standard deviation of the points before it since the last reset, so the
same defaults work for latencies in milliseconds and error rates in fractions. Both detect upward and downward changes and
start a fresh burn-in after each detection, so the new regime becomes the baseline.

>>> import numpy as np
>>> rng = np.random.default_rng(7)
>>> series = np.r_[rng.normal(100, 5, 300), rng.normal(115, 5, 200)]
>>> detector = PageHinkley()
>>> hits = [i for i, x in enumerate(series) if detector.update(x).drift_detected]
>>> 300 <= hits[0] < 330, detector.direction
(True, 'up')

References: E. S. Page, "Continuous inspection schemes", Biometrika 41 (1954); D. V. Hinkley,
"Inference about the change-point from cumulative sum tests", Biometrika 58 (1971).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from tools._validate import as_float_array
from tools.results import ToolInputError, ToolResult, insufficient, tool_result

Direction = Literal["up", "down"]


class _BurnInDetector:
    """Shared self-starting standardisation; subclasses implement ``_step(z)`` on standardised values."""

    def __init__(self, burn_in: int) -> None:
        if isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 2:
            raise ToolInputError(f"burn_in must be an integer >= 2, got {burn_in!r}")
        self.burn_in = burn_in
        self._drift_detected = False
        self._direction: Direction | None = None
        self._reset()

    def _reset(self) -> None:
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0

    @property
    def drift_detected(self) -> bool:
        """True when the last update detected a change."""
        return self._drift_detected

    @property
    def direction(self) -> Direction | None:
        """Direction of the most recent detection ("up" or "down"), None before the first one."""
        return self._direction

    @property
    def n(self) -> int:
        """Observations since the detector was created or last reset by a detection."""
        return self._n

    def update(self, x: float) -> _BurnInDetector:
        """Feed one observation; returns self so ``detector.update(x).drift_detected`` reads naturally."""
        x = float(x)
        if not math.isfinite(x):
            raise ToolInputError(f"observation must be finite, got {x!r}")
        self._drift_detected = False
        if self._n >= self.burn_in:
            # Self-starting: measure x against the mean and spread of the points before it since the reset.
            std = math.sqrt(self._m2 / (self._n - 1))
            # A constant stretch would divide by zero; any later move off it is then a change.
            scale = max(std, 1e-9 * max(1.0, abs(self._mean)))
            direction = self._step((x - self._mean) / scale)
            if direction is not None:
                self._drift_detected = True
                self._direction = direction
                self._reset()
                return self
        self._n += 1
        delta = x - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (x - self._mean)
        return self

    def _step(self, z: float) -> Direction | None:
        raise NotImplementedError


class PageHinkley(_BurnInDetector):
    """Two-sided Page-Hinkley test: cumulative standardised deviation, less ``delta`` per point, against its extreme.

    Parameters: ``burn_in`` points before the first test; ``delta`` is the tolerated drift per point and
    ``threshold`` the alarm level, both in standard deviations. The defaults favour few false alarms and
    small sustained shifts (a 1-sigma shift is caught after about 30 points).
    """

    def __init__(self, *, burn_in: int = 50, delta: float = 0.25, threshold: float = 25.0) -> None:
        if not (delta >= 0 and threshold > 0 and math.isfinite(delta + threshold)):
            raise ToolInputError(f"need delta >= 0 and threshold > 0, got {delta!r}, {threshold!r}")
        self.delta = float(delta)
        self.threshold = float(threshold)
        super().__init__(burn_in)

    def _reset(self) -> None:
        super()._reset()
        self._up = self._up_min = 0.0
        self._down = self._down_max = 0.0

    def _step(self, z: float) -> Direction | None:
        self._up += z - self.delta
        self._up_min = min(self._up_min, self._up)
        self._down += z + self.delta
        self._down_max = max(self._down_max, self._down)
        if self._up - self._up_min > self.threshold:
            return "up"
        if self._down_max - self._down > self.threshold:
            return "down"
        return None


class CUSUM(_BurnInDetector):
    """Two-sided tabular CUSUM of standardised values.

    Parameters: ``burn_in`` points before the first test; ``k`` is the allowance (half the shift to
    detect) and ``h`` the decision interval, both in standard deviations. Reacts faster than the
    Page-Hinkley defaults to shifts of a sigma or more, at more false alarms (h = 12 keeps them under one
    per 100,000 stationary points; h = 10 raised about 1.4).
    """

    def __init__(self, *, burn_in: int = 50, k: float = 0.5, h: float = 12.0) -> None:
        if not (k >= 0 and h > 0 and math.isfinite(k + h)):
            raise ToolInputError(f"need k >= 0 and h > 0, got {k!r}, {h!r}")
        self.k = float(k)
        self.h = float(h)
        super().__init__(burn_in)

    def _reset(self) -> None:
        super()._reset()
        self._high = self._low = 0.0

    def _step(self, z: float) -> Direction | None:
        self._high = max(0.0, self._high + z - self.k)
        self._low = max(0.0, self._low - z - self.k)
        if self._high > self.h:
            return "up"
        if self._low > self.h:
            return "down"
        return None


DETECTORS: dict[str, type[_BurnInDetector]] = {"page_hinkley": PageHinkley, "cusum": CUSUM}


def change_scan(series: np.ndarray, *, detector: str = "page_hinkley") -> ToolResult:
    """Run a change detector over a series; the first detection's index and direction, and all detections.

    NaN points (scrape gaps) are skipped; indices refer to positions in ``series``.
    """
    if detector not in DETECTORS:
        raise ToolInputError(f"detector must be one of {sorted(DETECTORS)}, got {detector!r}")
    values = as_float_array(series, "series", allow_nan=True)
    model = DETECTORS[detector]()
    observed = np.flatnonzero(~np.isnan(values))
    inputs = {"n": values.size, "detector": detector}
    if observed.size <= model.burn_in:
        return insufficient("change_scan", f"need more than {model.burn_in} non-NaN points, got {observed.size}",
                            inputs=inputs)
    hits: list[tuple[int, str]] = []
    for i, x in zip(observed.tolist(), values[observed].tolist(), strict=True):
        if model.update(x).drift_detected:
            hits.append((i, str(model.direction)))
    figures = {
        "change_detected": bool(hits),
        "change_index": hits[0][0] if hits else None,
        "direction": hits[0][1] if hits else None,
        "change_indices": [i for i, _ in hits],
        "directions": [d for _, d in hits],
        "n": int(observed.size),
        "detector": detector,
    }
    return tool_result("change_scan", inputs=inputs, figures=figures)
