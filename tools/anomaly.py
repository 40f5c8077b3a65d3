"""Streaming anomaly scores for a metric stream: seasonal level model, self-calibrated surprise, alert suppression.

``StreamingAnomalyDetector.update(x)`` returns a score in [0, 1) per point, in O(1) time and memory
once the season is settled (the first two cycles of the longest candidate period are buffered):

1. Prediction. An additive level plus a seasonal profile (Holt-Winters without trend). Candidate
   periods (daily, weekly, in points) are given or, with ``period=None``, one is inferred from the
   first ``infer_after`` points; a candidate is adopted once two of its cycles have been seen and their
   cycles correlate, so a stated period that the data do not show is ignored.
2. Level shifts. When errors of one sign stay large for ``shift_run`` points the level jumps to a fast
   estimate instead of crawling there, so a shift raises one alert rather than hundreds.
3. Surprise. The absolute error over a robust running scale (an EWMA of clipped ``|error|``, floored
   at ``scale_floor`` times the stream's overall spread) is divided by the stream's own running
   99th percentile of that ratio, in the spirit of Numenta's anomaly likelihood: a stream that is
   always spiky is not always alarming. A value beyond anything seen so far (a new high or low)
   counts as at least ``novelty`` times that percentile, more the further past the record it goes;
   records are common in a young stream and rare (about 1/n) in an old one.
4. Recurring excursions. Each period (the shortest candidate, e.g. a day) is cut into ``slots``; for
   each slot the largest error of each of the last ``recurring_days`` periods is kept. Where at least
   ``recurring_min`` of those periods showed an excursion in the same slot or a neighbouring one (a
   nightly job, a daily cron spike whose minute wanders), an error above the stream's 99th percentile
   is judged against that excursion: its surprise becomes its ratio to it (1 for one as large as
   usual, 10 for one ten times larger), so only excursions far beyond the usual one alarm. A run of large
   same-sign errors is excused only while it is no longer than ``recurring_run`` points or than the
   runs those periods showed there, so a missing daily peak or a new level that persists still
   alarms. A new record high or low is still news: records are checked after this step.
5. Suppression. After a peak, a point only scores if it beats ``margin`` times the peak, which decays
   with ``half_life`` points, so one incident yields one high score.

The score is ``r / (1 + r)`` for a surprise ratio ``r`` (0.5 at the stream's 99th percentile) and 0
during the first ``burn_in`` points and for suppressed points.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = 10 + np.sin(np.arange(3000) * 2 * np.pi / 100) + rng.normal(0, 0.1, 3000)
>>> x[2500] += 3
>>> detector = StreamingAnomalyDetector(period=100)
>>> scores = [detector.update(v) for v in x]
>>> int(np.argmax(scores)), detector.period
(2500, 100)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tools._validate import as_float_array, probability
from tools.results import ToolInputError, ToolResult, insufficient, tool_result


def _detrended(values: np.ndarray) -> np.ndarray:
    t = np.arange(values.size)
    resid = values - np.polyval(np.polyfit(t, values, 1), t)
    return resid - resid.mean()


def season_strength(values: np.ndarray, lag: int) -> float:
    """Correlation of a series with itself ``lag`` points later, net of trend (0 for a constant series).

    The trend is the one the two overlapping stretches imply (difference of their means over ``lag``),
    so a season does not leak into it; unlike the textbook autocorrelation the value is not shrunk by
    the overlap, so two clean cycles give ~1.
    """
    values = np.asarray(values, dtype=float)
    if values.size < 3 or np.ptp(values) == 0.0 or not 0 < lag < values.size - 1:
        return 0.0
    slope = (values[lag:].mean() - values[:-lag].mean()) / lag
    x = values - slope * np.arange(values.size)
    a, b = x[:-lag] - x[:-lag].mean(), x[lag:] - x[lag:].mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    spread = float(np.sum((values - values.mean()) ** 2))
    return float(a @ b) / denom if denom > 1e-12 * spread * spread else 0.0


def infer_period(values: np.ndarray, *, min_period: int = 4, min_acf: float = 0.3) -> int | None:
    """The lag (at most half the series) with the highest autocorrelation, when it reaches ``min_acf``."""
    values = np.asarray(values, dtype=float)
    n = values.size
    if n < 2 * min_period or np.ptp(values) == 0.0:
        return None
    x = _detrended(values)
    denom = float(x @ x)
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: n // 2 + 1] / denom
    # Skip the lags next to 0, where any smooth series correlates with itself.
    first_dip = int(np.argmax(acf < 0)) if (acf < 0).any() else n // 2 + 1
    start = max(min_period, first_dip)
    if start > n // 2:
        return None
    lag = start + int(np.argmax(acf[start : n // 2 + 1]))
    return lag if acf[lag] >= min_acf else None


class StreamingAnomalyDetector:
    """Score each point of a metric stream in [0, 1); the model is described in the module docstring.

    Parameters (keyword-only): ``period`` points per season, a list of candidate periods (e.g. one
    day and one week in points), 0 for none, or None to infer one; ``burn_in`` points scored 0
    (default: two cycles of the shortest candidate period, at least 50);
    ``alpha`` level rate; ``gamma`` seasonal rate; ``scale_rate`` rate of the error scale;
    ``scale_floor`` smallest error scale as a share of the stream's spread; ``shift_run`` large
    same-sign errors that re-level the model; ``novelty`` surprise of a new extreme; ``half_life`` and
    ``margin`` of the suppression; ``slots``, ``recurring_days`` (0 turns the step off),
    ``recurring_min`` and ``recurring_run`` of the recurring-excursion step; ``min_strength`` the
    ``season_strength`` a given period must show
    and ``min_acf`` the autocorrelation an inferred one must show; ``infer_after``
    points buffered before inferring a period when none is given.
    """

    __slots__ = (
        "alpha", "gamma", "scale_rate", "scale_floor", "shift_run", "novelty", "decay", "margin", "min_acf",
        "min_strength", "burn_in", "period", "_candidates", "_checks", "_buffer", "_acf", "_n", "_season",
        "_level", "_fast",
        "_scale", "_run", "_sign", "_mean", "_m2", "_q", "_hi", "_lo", "_peak",
        "slots", "recurring_days", "recurring_min", "recurring_run", "_slot_len", "_excursions", "_runs", "_slot",
        "_slot_max", "_slot_run",
    )

    def __init__(
        self,
        *,
        period: int | Sequence[int] | None = None,
        burn_in: int | None = None,
        alpha: float = 0.1,
        gamma: float = 0.1,
        scale_rate: float = 0.02,
        scale_floor: float = 0.05,
        shift_run: int = 6,
        novelty: float = 1.5,
        half_life: float = 50.0,
        margin: float = 2.0,
        min_acf: float = 0.3,
        min_strength: float = 0.5,
        infer_after: int = 1000,
        slots: int = 24,
        recurring_days: int = 6,
        recurring_min: int = 3,
        recurring_run: int = 4,
    ) -> None:
        if period is None or period == 0:
            candidates: list = []
        elif isinstance(period, Sequence):
            candidates = list(period)
        else:
            candidates = [period]
        if any(isinstance(p, bool) or not isinstance(p, int) or p < 2 for p in candidates):
            raise ToolInputError(f"period must be None, 0, an integer >= 2 or a list of them, got {period!r}")
        for name, rate in (("alpha", alpha), ("gamma", gamma), ("scale_rate", scale_rate)):
            if not 0.0 < rate <= 1.0:
                raise ToolInputError(f"{name} must be in (0, 1], got {rate!r}")
        if not (half_life > 0 and margin >= 1 and novelty >= 0 and scale_floor >= 0 and shift_run >= 1
                and (burn_in is None or burn_in >= 0) and infer_after >= 8):
            raise ToolInputError("need half_life > 0, margin >= 1, novelty >= 0, scale_floor >= 0, shift_run >= 1, "
                                 "burn_in >= 0 and infer_after >= 8")
        self.alpha, self.gamma, self.scale_rate, self.scale_floor = alpha, gamma, scale_rate, scale_floor
        if not (slots >= 1 and recurring_days >= 0 and recurring_min >= 1 and recurring_run >= 1
                and (recurring_days == 0 or recurring_min <= recurring_days)):
            raise ToolInputError("need slots >= 1, recurring_days >= 0, 1 <= recurring_min <= recurring_days and "
                                 "recurring_run >= 1")
        self.slots, self.recurring_days = slots, recurring_days
        self.recurring_min, self.recurring_run = recurring_min, recurring_run
        self.shift_run, self.novelty, self.margin, self.min_acf = shift_run, novelty, margin, min_acf
        self.min_strength = min_strength
        self.decay = 0.5 ** (1.0 / half_life)
        # Until the season is settled the model mistakes it for anomalies, so do not score before then.
        self.burn_in = burn_in if burn_in is not None else max(50, 2 * min(candidates, default=0))
        self._candidates = sorted(set(candidates))
        # When to look at the data: two cycles of each candidate, or once after infer_after points.
        self._checks = [2 * p for p in self._candidates] if period is not None else [infer_after]
        self._reset()

    def _reset(self) -> None:
        self.period = 0
        self._buffer: list[float] | None = [] if self._checks else None
        self._acf = self.min_strength
        self._n = 0
        self._season = [0.0]
        self._level = self._fast = self._scale = 0.0
        self._run = self._sign = 0
        self._mean = self._m2 = 0.0
        self._q = 3.0
        self._hi, self._lo = -math.inf, math.inf
        self._peak = 0.0
        # Recurring excursions: per slot of the shortest candidate period, the largest |error| of each of the
        # last recurring_days periods (a ring indexed by period number).
        period = self._candidates[0] if self._candidates and self.recurring_days else 0
        self._slot_len = max(1, period // self.slots) if period else 0
        self._excursions = [[0.0] * self.recurring_days for _ in range(-(-period // self._slot_len))] if period else []
        self._runs = [[0] * self.recurring_days for _ in self._excursions]
        self._slot = -1
        self._slot_max = 0.0
        self._slot_run = 0

    @property
    def n(self) -> int:
        """Points seen."""
        return self._n

    def predict(self) -> float:
        """The model's expectation for the next point (level plus its seasonal term); NaN before any point."""
        if self._n == 0:
            return math.nan
        return self._level + self._season[self._n % len(self._season)]

    def _settle_season(self) -> None:
        """Adopt the period the buffered data support best, rebuilding the profile from the buffer."""
        buffer = np.asarray(self._buffer)
        if self._candidates:
            lag = self._checks.pop(0) // 2
            acf = season_strength(buffer, lag)
            chosen = lag if acf >= self._acf else 0
            if chosen:
                self._acf = acf
        else:
            self._checks.clear()
            chosen = infer_period(buffer, min_acf=self.min_acf) or 0
        if not self._checks:
            self._buffer = None
        if not chosen:
            return
        cycles = buffer[: buffer.size - buffer.size % chosen].reshape(-1, chosen)
        profile = (cycles - cycles.mean(axis=1, keepdims=True)).mean(axis=0)
        self.period = chosen
        self._season = profile.tolist()
        self._level = self._fast = float(np.mean(buffer[-chosen:]))

    def _recurring(self, n: int, a: float, z: float, q: float) -> float:
        """Record |error| ``a`` and the current run in its time-of-day slot; cut ``z`` when earlier periods showed as much."""
        position = (n - 1) % self._candidates[0]
        slot = min(position // self._slot_len, len(self._excursions) - 1)
        day = (n - 1) // self._candidates[0]
        if slot != self._slot:
            if self._slot >= 0:  # close the previous slot: its largest error of the period it belonged to
                k = ((n - 2) // self._candidates[0]) % self.recurring_days
                self._excursions[self._slot][k] = self._slot_max
                self._runs[self._slot][k] = self._slot_run
            self._slot = slot
            self._slot_max = 0.0
            self._slot_run = 0
        if a > self._slot_max:
            self._slot_max = a
        if self._run > self._slot_run:
            self._slot_run = self._run
        if z <= q or day < self.recurring_days:
            return z
        ring, runs = self._excursions, self._runs
        k = self.recurring_min - 1
        nb = len(ring)
        usual_run = sorted((max(runs[slot - 1][d], runs[slot][d], runs[(slot + 1) % nb][d])
                            for d in range(self.recurring_days)), reverse=True)[k]
        if self._run > max(self.recurring_run, usual_run):
            return z
        before, here, after = ring[slot - 1], ring[slot], ring[(slot + 1) % nb]
        usual = sorted((max(before[d], here[d], after[d]) for d in range(self.recurring_days)), reverse=True)[k]
        return min(z, a / usual) if usual > 0.0 else z

    def update(self, x: float) -> float:
        """Score one observation in [0, 1) and learn from it."""
        x = float(x)
        if not math.isfinite(x):
            raise ToolInputError(f"observation must be finite, got {x!r}")
        n = self._n + 1
        self._n = n
        buffer = self._buffer
        if buffer is not None:
            buffer.append(x)
        d = x - self._mean  # running spread of the stream, for the scale floor
        self._mean += d / n
        self._m2 += d * (x - self._mean)
        # 1. prediction error of level + season, then learn
        season = self._season
        ph = (n - 1) % len(season)  # the buffer's first point is phase 0
        s = season[ph]
        level = self._level
        err = x - level - s
        if n == 1:
            level = self._fast = x
            err = 0.0
        else:
            rate = self.alpha if self.alpha * n > 1.0 else 1.0 / n
            level += rate * (x - s - level)
            self._fast += (0.25 if rate < 0.25 else rate) * (x - s - self._fast)
        if self.period:
            season[ph] = s + self.gamma * (x - level - s)
        # 2. surprise of the error against a robust, floored scale
        a = err if err >= 0.0 else -err
        scale = self._scale
        floor = self.scale_floor * math.sqrt(self._m2 / n) + 1e-300
        if scale < floor:
            scale = floor
        z = a / scale
        # Early on the scale is the plain mean of clipped errors, then an EWMA of them.
        rate = self.scale_rate if self.scale_rate * n > 1.0 else 1.0 / n
        self._scale = scale + rate * ((a if z < 8.0 else 8.0 * scale) - scale)
        # 3. a run of large same-sign errors is a level shift: jump to the fast level
        sign = 1 if err > 0.0 else -1
        if z > 2.0 and sign == self._sign:
            self._run += 1
            if self._run >= self.shift_run:
                level = self._fast
                self._run = 0
        else:
            self._run = 1 if z > 2.0 else 0
            self._sign = sign
        self._level = level
        q = self._q
        if self._slot_len:  # recurring time-of-day excursions (step 4 of the module docstring)
            z = self._recurring(n, a, z, q)
        # 4. calibrate against this stream's own 99th percentile of z; new extremes are surprising too
        if x > self._hi or x < self._lo:
            span = self._hi - self._lo
            if span > 0.0:
                beyond = (x - self._hi) if x > self._hi else (self._lo - x)
                novel = self.novelty * q * (1.0 + 10.0 * beyond / span)
                if novel > z:
                    z = novel
            if x > self._hi:
                self._hi = x
            if x < self._lo:
                self._lo = x
        # Multiplicative stochastic-approximation quantile: up 4.95% when exceeded, down 0.05% otherwise.
        self._q = q * 1.0495 if z > q else q * 0.9995
        if buffer is not None and n >= self._checks[0]:
            self._settle_season()
        if n <= self.burn_in:
            return 0.0
        r = z / q
        if r > 1e9:  # keeps the score below 1 and finite for degenerate (constant, subnormal) streams
            r = 1e9
        peak = self._peak * self.decay
        if r > peak:
            self._peak = r * self.margin
            return r / (1.0 + r)
        self._peak = peak
        return 0.0


def anomaly_scan(
    series: np.ndarray,
    *,
    period: int | Sequence[int] | None = None,
    threshold: float = 0.6,
) -> ToolResult:
    """Run the streaming detector over a series; points scoring >= ``threshold`` are anomalies.

    The default threshold is close to the one NAB's standard profile picks for this detector (0.61,
    see docs/benchmarks.md). NaN points (scrape gaps) are filled with the model's prediction and
    never flagged; indices refer to ``series``. ``last_*`` figures describe the latest flagged point: its
    score, value and the value the model expected there (the direction of the surprise).
    """
    values = as_float_array(series, "series", allow_nan=True)
    limit = probability(threshold, "threshold")
    detector = StreamingAnomalyDetector(period=period)
    gaps = np.isnan(values)
    inputs = {"n": values.size, "period": period, "threshold": limit}
    if values.size - gaps.sum() <= detector.burn_in:
        return insufficient("anomaly", f"need more than {detector.burn_in} non-NaN points, got "
                            f"{values.size - gaps.sum()}", inputs=inputs)
    update, predict = detector.update, detector.predict
    scores = np.zeros(values.size)
    last_expected: float | None = None  # the model's forecast of the latest flagged point
    start = int(np.argmax(~gaps))  # leading gaps: nothing to predict them from
    for i, (x, gap) in enumerate(zip(values[start:].tolist(), gaps[start:].tolist(), strict=True), start):
        # A gap is filled with the model's own prediction: it keeps the seasonal phase and cannot alarm.
        guess = predict()
        score = update(guess if gap else x)
        if gap:
            continue
        scores[i] = score
        if score >= limit:
            last_expected = guess
    hits = np.flatnonzero(scores >= limit)
    top = int(np.argmax(scores))
    figures = {
        "anomaly_detected": bool(hits.size),
        "anomalies": hits,
        "anomaly_scores": scores[hits],
        "max_score": float(scores[top]),
        "max_index": top,
        # The latest flagged point: what a monitor asks ("is something unusual now?").
        "last_index": int(hits[-1]) if hits.size else None,
        "last_score": float(scores[hits[-1]]) if hits.size else None,
        "last_value": float(values[hits[-1]]) if hits.size else None,
        "last_expected": last_expected,  # the model's forecast of that point
        "period": detector.period,
        "n": int(values.size - gaps.sum()),
    }
    return tool_result("anomaly", inputs=inputs, figures=figures)
