"""Canary verdict: is the candidate worse than the baseline? Effect size plus a test that stays valid under repeated looks.

A canary is checked every few minutes as samples accumulate; a fixed-sample test checked that way
raises far more false alarms than its alpha. The verdict uses a mixture sequential probability
ratio test (mSPRT, Johari et al. 2017) on the difference of means with a normal mixing prior of
scale ``tau``: its confidence sequence covers the true difference at every look at once with
probability ``1 - alpha``, so "fail" can be asked after every sample.

Verdicts: ``fail`` when the candidate is worse beyond doubt and by at least ``min_effect`` (relative
to the baseline mean); ``pass`` when the confidence sequence rules out being worse by ``min_effect``;
``continue`` otherwise.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> base = rng.lognormal(4.0, 0.3, 2000)
>>> canary_verdict(base, rng.lognormal(4.2, 0.3, 400)).figures["verdict"]
'fail'
>>> canary_verdict(base, rng.lognormal(4.0, 0.3, 2000)).figures["verdict"]
'pass'
"""

from __future__ import annotations

import math

import numpy as np

from tools._validate import as_float_array, positive_number, probability
from tools.results import ToolResult, insufficient, tool_result

MIN_SAMPLES = 30
"""Fewest samples per arm before a verdict."""


def canary_verdict(
    baseline: np.ndarray,
    candidate: np.ndarray,
    *,
    higher_is_worse: bool = True,
    alpha: float = 0.05,
    min_effect: float = 0.05,
    tau: float | None = None,
) -> ToolResult:
    """Compare candidate samples (latency, error 0/1, quality score...) with baseline samples; pass / fail / continue.

    Figures: ``difference`` (candidate minus baseline mean), ``relative_change``, ``cohens_d`` (the
    effect size), the ``(ci_low, ci_high)`` always-valid confidence sequence of the difference,
    ``p_value`` (always-valid: the chance under no difference of ever seeing this much evidence),
    ``verdict`` and the means and counts. ``tau`` (the mixing scale) defaults to ``min_effect``
    times the baseline mean's magnitude, the effect one cares to find.
    """
    base = as_float_array(baseline, "baseline")
    cand = as_float_array(candidate, "candidate")
    alpha = probability(alpha, "alpha")
    min_effect = positive_number(min_effect, "min_effect")
    inputs = {"n_baseline": base.size, "n_candidate": cand.size, "alpha": alpha, "min_effect": min_effect,
              "higher_is_worse": bool(higher_is_worse)}
    if min(base.size, cand.size) < MIN_SAMPLES:
        return insufficient("canary", f"need at least {MIN_SAMPLES} samples per arm", inputs=inputs)
    mean_b, mean_c = float(base.mean()), float(cand.mean())
    var_b, var_c = float(base.var(ddof=1)), float(cand.var(ddof=1))
    difference = mean_c - mean_b
    margin = min_effect * max(abs(mean_b), 1e-12)
    variance = max(var_b / base.size + var_c / cand.size, 1e-300)
    tau2 = (positive_number(tau, "tau") if tau is not None else margin) ** 2
    # mSPRT likelihood ratio of "difference ~ N(0, tau²)" against "difference = 0"; a martingale under H0.
    log_lr = 0.5 * math.log(variance / (variance + tau2)) + difference**2 * tau2 / (2 * variance * (variance + tau2))
    p_value = min(1.0, math.exp(-log_lr))
    radius = math.sqrt(2 * variance * (variance + tau2) / tau2
                       * (math.log(1 / alpha) + 0.5 * math.log((variance + tau2) / variance)))
    sign = 1.0 if higher_is_worse else -1.0
    worse, worse_low, worse_high = sign * difference, sign * difference - radius, sign * difference + radius
    if worse_low > 0 and worse >= margin:
        verdict = "fail"
    elif worse_high < margin:
        verdict = "pass"
    else:
        verdict = "continue"
    pooled = math.sqrt(((base.size - 1) * var_b + (cand.size - 1) * var_c) / (base.size + cand.size - 2))
    figures = {
        "verdict": verdict,
        "difference": difference,
        "relative_change": difference / mean_b if mean_b else None,
        "cohens_d": difference / pooled if pooled > 0 else (0.0 if difference == 0 else math.copysign(math.inf, difference)),
        "ci_low": difference - radius,
        "ci_high": difference + radius,
        "p_value": p_value,
        "baseline_mean": mean_b,
        "candidate_mean": mean_c,
        "n_baseline": base.size,
        "n_candidate": cand.size,
    }
    return tool_result("canary", inputs=inputs, figures=figures)
