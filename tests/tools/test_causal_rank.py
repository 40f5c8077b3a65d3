"""Root-cause ranking over signals across layers: graph walk, precedence, strength; bad input; invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.causal_rank import Signal, rank_root_causes
from tools.results import ToolInputError, ToolStatus


def sig(service: str, layer: str, component: str, onset: float, strength: float) -> dict:
    return {"service": service, "layer": layer, "component": component, "onset_min": onset, "strength": strength}


def order(result) -> list[str]:
    return [c["component"] for c in result.figures["ranking"]]


def test_a_failing_dependency_outranks_the_louder_callers_it_explains():
    result = rank_root_causes([sig("api", "application", "api.errors", 12, 4.0),
                               sig("web", "application", "web.errors", 13, 3.0),
                               sig("db", "infrastructure", "db.serving", 10, 2.0)],
                              depends_on={"api": ["db"], "web": ["api", "db"]})
    assert order(result) == ["db.serving", "api.errors", "web.errors"]
    top = result.figures["ranking"][0]
    assert top["precedence"] == 1.0 and top["relative_strength"] == 0.5  # weaker, but first and where calls lead


def test_without_the_call_graph_the_same_signals_rank_by_onset_and_strength():
    result = rank_root_causes([sig("api", "application", "api.errors", 12, 4.0),
                               sig("db", "infrastructure", "db.serving", 10, 2.0)])
    assert result.figures["ranking"][0]["graph_weight"] > result.figures["ranking"][1]["graph_weight"]  # stronger
    assert {c["component"] for c in result.figures["ranking"]} == {"api.errors", "db.serving"}


def test_within_a_service_the_data_change_explains_the_later_model_drop():
    result = rank_root_causes([sig("fraud", "model", "fraud.model", 40, 5.0),
                               sig("fraud", "data", "fraud.features", 0, 2.0)])
    assert order(result) == ["fraud.features", "fraud.model"]


def test_a_later_data_signal_does_not_explain_an_earlier_infrastructure_one_in_another_service():
    result = rank_root_causes([sig("search", "infrastructure", "search.serving", 0, 3.0),
                               sig("recsys", "data", "recsys.features", 30, 3.0)])
    assert order(result)[0] == "search.serving"


def test_signals_of_one_component_merge_into_one_candidate():
    result = rank_root_causes([sig("api", "application", "api.errors", 12, 1.0),
                               sig("api", "application", "api.errors", 9, 3.0)])
    (only,) = result.figures["ranking"]
    assert (only["onset_min"], only["strength"], only["signals"], only["score"]) == (9.0, 3.0, 2, 1.0)
    assert result.figures["margin"] == 1.0


def test_simultaneous_onsets_within_the_tolerance_share_precedence():
    signals = [sig("a", "application", "a.errors", 10, 1.0), sig("b", "application", "b.errors", 11, 1.0)]
    strict = {c["component"]: c["precedence"] for c in rank_root_causes(signals).figures["ranking"]}
    loose = {c["component"]: c["precedence"] for c in rank_root_causes(signals, tolerance_min=2).figures["ranking"]}
    assert strict == {"a.errors": 1.0, "b.errors": 0.0}
    assert loose == {"a.errors": 1.0, "b.errors": 1.0}


def test_a_cycle_in_the_call_graph_is_fine():
    result = rank_root_causes([sig("a", "application", "a.errors", 1, 1.0), sig("b", "application", "b.errors", 2, 1.0)],
                              depends_on={"a": ["b"], "b": ["a"], "ghost": ["a"]})
    assert sum(c["score"] for c in result.figures["ranking"]) == pytest.approx(1.0)


def test_no_signal_is_insufficient():
    result = rank_root_causes([])
    assert result.status == ToolStatus.INSUFFICIENT_DATA


@pytest.mark.parametrize(("signals", "kwargs", "message"), [
    ("api.errors", {}, "list of signals"),
    ([sig("api", "network", "api.x", 0, 1.0)], {}, "layer"),
    ([sig("api", "application", "api.x", float("nan"), 1.0)], {}, "onset_min"),
    ([sig("api", "application", "api.x", 0, -1.0)], {}, "strength"),
    ([{"service": "api"}], {}, "signal 0"),
    ([sig("api", "application", "api.x", 0, 1.0)], {"damping": 1.0}, "damping"),
    ([sig("api", "application", "api.x", 0, 1.0)], {"tolerance_min": -1}, "tolerance_min"),
])
def test_bad_input_is_a_clear_error(signals, kwargs, message):
    with pytest.raises(ToolInputError, match=message):
        rank_root_causes(signals, **kwargs)


SERVICES = ["a", "b", "c", "d"]
SIGNALS = st.lists(st.builds(Signal, service=st.sampled_from(SERVICES),
                             layer=st.sampled_from(["data", "model", "application", "infrastructure"]),
                             component=st.sampled_from(["x", "y", "z"]), onset_min=st.integers(0, 60).map(float),
                             strength=st.floats(0, 10)).map(lambda s: s.model_copy(update={
                                 "component": f"{s.service}.{s.layer}.{s.component}"})),
                   min_size=1, max_size=8)
GRAPHS = st.dictionaries(st.sampled_from(SERVICES), st.lists(st.sampled_from(SERVICES), max_size=3), max_size=4)


@settings(max_examples=60, deadline=None)
@given(signals=SIGNALS, graph=GRAPHS, seed=st.randoms())
def test_scores_are_a_distribution_and_do_not_depend_on_signal_order(signals, graph, seed):
    result = rank_root_causes(signals, depends_on=graph)
    scores = {c["component"]: c["score"] for c in result.figures["ranking"]}
    assert sum(scores.values()) == pytest.approx(1.0)
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    shuffled = list(signals)
    seed.shuffle(shuffled)
    again = {c["component"]: c["score"] for c in rank_root_causes(shuffled, depends_on=graph).figures["ranking"]}
    assert again == pytest.approx(scores)
