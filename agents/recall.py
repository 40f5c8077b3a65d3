"""Recall: re-rank hypotheses by what similar past incidents proved: causes confirmed by a fix, causes whose fix failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.state import Hypothesis

MIN_SIMILARITY = 0.5  # below this a past incident says little about this one
# A cause confirmed in an incident that merely looked alike is weak evidence (many causes share
# symptoms): it only breaks near-ties. A fix that was tried and undone where things looked the same
# is strong evidence against that cause here.
CONFIRMED_WEIGHT = 0.05
FAILED_WEIGHT = 0.3
MAX_BOOST = 0.08
MAX_PENALTY = 0.4


def recall(hypotheses: Sequence[Hypothesis], similar: Sequence[dict[str, Any]]) -> tuple[list[Hypothesis], str]:
    """Boost causes that a verified fix confirmed in similar incidents, demote causes whose fix was undone there.

    Each past incident counts in proportion to its similarity; the note names the incidents used,
    so the diagnosis cites them as evidence.
    """
    close = [s for s in similar if float(s.get("similarity", 0.0)) >= MIN_SIMILARITY]
    if not close:
        return list(hypotheses), ""
    notes: list[str] = []
    ranked = []
    for hyp in hypotheses:
        confirmed = [s for s in close if s.get("outcome") == "resolved" and s.get("root_cause") == hyp.cause
                     and s.get("layer") == hyp.layer]
        failed = [s for s in close if hyp.cause in (s.get("failed_causes") or [])
                  or (s.get("outcome") in ("made_worse", "undone") and s.get("root_cause") == hyp.cause)]
        boost = min(MAX_BOOST, CONFIRMED_WEIGHT * sum(float(s["similarity"]) for s in confirmed))
        penalty = min(MAX_PENALTY, FAILED_WEIGHT * sum(float(s["similarity"]) for s in failed))
        if confirmed:
            notes.append(f"'{hyp.cause}' was confirmed by a verified fix in "
                         f"{', '.join(s['incident_id'] for s in confirmed)}")
        if failed:
            notes.append(f"'{hyp.cause}' was tried and undone in {', '.join(s['incident_id'] for s in failed)}")
        score = round(max(0.0, min(1.0, hyp.score + boost - penalty)), 3)
        ranked.append(hyp.model_copy(update={"score": score}))
    ranked.sort(key=lambda h: h.score, reverse=True)
    return ranked, "; ".join(notes)
