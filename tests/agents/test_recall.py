"""Recall re-ranks hypotheses by verified outcomes of similar incidents and names them."""

from agents.recall import recall
from agents.state import Hypothesis


def hyp(cause: str, score: float, layer: str = "model") -> Hypothesis:
    return Hypothesis(layer=layer, component=f"svc.{cause.split()[0]}", cause=cause, score=score)


def past(incident_id: str, cause: str, outcome: str = "resolved", similarity: float = 0.9,
         failed: list[str] | None = None, layer: str = "model") -> dict:
    return {"incident_id": incident_id, "root_cause": cause, "layer": layer, "outcome": outcome,
            "similarity": similarity, "failed_causes": failed or []}


def test_a_cause_whose_fix_failed_before_drops_below_the_one_that_worked() -> None:
    hypotheses = [hyp("model decay", 0.7), hyp("feedback contamination", 0.6)]
    similar = [past("inc-1", "feedback contamination", failed=["model decay"])]
    ranked, note = recall(hypotheses, similar)
    assert [h.cause for h in ranked] == ["feedback contamination", "model decay"]
    assert "inc-1" in note and "undone" in note and "confirmed" in note


def test_dissimilar_incidents_change_nothing() -> None:
    hypotheses = [hyp("model decay", 0.7), hyp("feedback contamination", 0.6)]
    ranked, note = recall(hypotheses, [past("inc-1", "feedback contamination", similarity=0.2,
                                            failed=["model decay"])])
    assert [h.score for h in ranked] == [0.7, 0.6] and note == ""


def test_no_memory_no_change() -> None:
    hypotheses = [hyp("a", 0.5)]
    assert recall(hypotheses, []) == (hypotheses, "")


def test_scores_stay_in_unit_interval() -> None:
    ranked, _ = recall([hyp("a", 0.95), hyp("b", 0.05)],
                       [past(f"inc-{i}", "a") for i in range(5)] + [past("x", "c", failed=["b"] * 3)])
    assert all(0.0 <= h.score <= 1.0 for h in ranked)
