"""Semantic drift of generated text: meaning, length, refusals, repetition; effect sizes; bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.results import ToolInputError, ToolStatus
from tools.semantic_drift import semantic_drift, text_signals

TOPICS = ("billing", "shipping", "returns", "passwords", "warranty", "invoices")
ANSWERS = (
    "Here is what I found about {t}: {t} requests are handled within {d} days.",
    "According to the {t} policy, {t} requests are handled within {d} days.",
    "Could you tell me a bit more about what you need on {t}?",
)
REFUSAL = "Sorry, I can't help with that request."
OFF_TOPIC = "Speaking of {t}, did you know that {t} has {d} steps and a mascot named {name}?"


def responses(n: int, seed: int, *, refusal: float = 0.05, off_topic: float = 0.0, suffix: str = "") -> list[str]:
    """Chat responses from a template mix: answers, a share of refusals and a share of off-topic chatter."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t, d = rng.choice(TOPICS), int(rng.integers(1, 6))
        u = rng.random()
        if u < refusal:
            out.append(REFUSAL)
        elif u < refusal + off_topic:
            out.append(OFF_TOPIC.format(t=t, d=d, name=rng.choice(["Bo", "Kip", "Zed"])))
        else:
            out.append(str(rng.choice(ANSWERS)).format(t=t, d=d) + suffix)
    return out


def test_same_mix_is_not_drift() -> None:
    result = semantic_drift(responses(300, 1), responses(300, 2))
    assert result.ok
    assert result.figures["drifted"] is False
    assert result.figures["centroid_shift_sd"] < 0.2
    assert result.figures["mmd_p_value"] > 0.01


def test_off_topic_mix_is_meaning_drift() -> None:
    result = semantic_drift(responses(300, 1), responses(300, 2, off_topic=0.5))
    assert "meaning" in result.figures["drifted_signals"]
    assert result.figures["centroid_shift_sd"] > 0.2
    assert result.figures["mmd_p_value"] < 0.01
    assert 0.0 < result.figures["centroid_cosine_distance"] < 1.0


def test_refusal_rise_is_reported_with_both_rates() -> None:
    result = semantic_drift(responses(400, 1, refusal=0.05), responses(400, 2, refusal=0.3))
    assert "refusal" in result.figures["drifted_signals"]
    assert result.figures["refusal_rate_reference"] == pytest.approx(0.05, abs=0.03)
    assert result.figures["refusal_rate_current"] == pytest.approx(0.3, abs=0.06)
    assert result.figures["refusal_p_value"] < 1e-6


def test_longer_answers_are_length_drift() -> None:
    result = semantic_drift(responses(200, 1), responses(200, 2, suffix=" Let me know if there is anything else "
                                                                        "I can do for you today about this topic."))
    assert "length" in result.figures["drifted_signals"]
    assert result.figures["length_ratio"] > 1.5


def test_degenerate_loops_are_repetition_drift() -> None:
    looping = [f"{t} {t} the answer is the answer is the answer is {t}" for t in np.resize(TOPICS, 200)]
    result = semantic_drift(responses(200, 1), looping)
    assert "repetition" in result.figures["drifted_signals"]
    assert result.figures["repetition_current"] > result.figures["repetition_reference"] + 0.3


def test_a_tiny_length_change_in_a_large_sample_is_significant_but_not_drift() -> None:
    reference = ["one two three four five six seven eight nine ten " * 2] * 3000
    current = reference[:2700] + ["one two three four five six seven eight nine ten " * 2 + "eleven"] * 300
    result = semantic_drift(reference, current)
    assert result.figures["length_p_value"] < 1e-6  # the test sees it...
    assert result.figures["length_ratio"] == pytest.approx(1.005, abs=0.001)
    assert "length" not in result.figures["drifted_signals"]  # ...the effect size says it does not matter


def test_the_embedding_function_is_a_parameter() -> None:
    calls: list[int] = []

    def first_word(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        vocabulary = sorted({t.split()[0] for t in texts} | {"Here", "According", "Could", "Sorry,", "Speaking"})
        return np.array([[1.0 if t.split()[0] == w else 0.0 for w in vocabulary] for t in texts])

    result = semantic_drift(responses(100, 1), responses(100, 2, off_topic=0.6), embed=first_word)
    assert calls == [100, 100]
    assert result.inputs["embedding"] == "first_word"
    assert "meaning" in result.figures["drifted_signals"]


def test_too_few_texts_is_insufficient_not_an_answer() -> None:
    result = semantic_drift(responses(10, 1), responses(300, 2))
    assert result.status == ToolStatus.INSUFFICIENT_DATA
    assert "at least 30" in result.message
    assert not result.figures


@pytest.mark.parametrize(
    ("reference", "current", "kwargs", "message"),
    [
        ("just one string", ["a"] * 40, {}, "list of strings"),
        (["a"] * 40, ["a"] * 39 + [3], {}, "strings"),
        (["a"] * 40, ["a"] * 40, {"refusal_pattern": "(unclosed"}, "regular expression"),
        (["a"] * 40, ["a"] * 40, {"embed": lambda texts: np.ones((len(texts) - 1, 4))}, "rows"),
        (["a"] * 40, ["a"] * 40, {"embed": lambda texts: np.full((len(texts), 4), np.nan)}, "NaN"),
        (["a"] * 40, ["a"] * 40, {"embed": lambda texts: np.ones(len(texts))}, "dimension"),
        (["a"] * 40, ["a"] * 40, {"alpha": 1.5}, "alpha"),
        (["a"] * 40, ["a"] * 40, {"min_texts": 1}, "min_texts"),
    ],
)
def test_bad_input_is_a_clear_error(reference, current, kwargs, message) -> None:
    with pytest.raises(ToolInputError, match=message):
        semantic_drift(reference, current, **kwargs)


def test_none_counts_as_an_empty_text() -> None:
    signals = text_signals(["", "Sorry, I cannot do that", "go go go"])
    assert signals["length"].tolist() == [0.0, 5.0, 3.0]
    assert signals["refusal"].tolist() == [0.0, 1.0, 0.0]
    assert signals["repetition"].tolist() == pytest.approx([0.0, 0.0, 2 / 3])
    result = semantic_drift([None] * 20 + ["a b"] * 20, [None] * 20 + ["a b"] * 20)  # type: ignore[list-item]
    assert result.ok and result.figures["drifted"] is False


WORDS = st.sampled_from(["alpha", "beta", "gamma", "sorry", "I", "can't", "help", "the", "the"])
TEXTS = st.lists(st.lists(WORDS, min_size=0, max_size=8).map(" ".join), min_size=30, max_size=60)


@settings(max_examples=25, deadline=None)
@given(reference=TEXTS, current=TEXTS, seed=st.integers(0, 2**16))
def test_effect_sizes_do_not_depend_on_text_order(reference: list[str], current: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    shuffled = [current[i] for i in rng.permutation(len(current))]
    a = semantic_drift(reference, current, permutations=20).figures
    b = semantic_drift(reference, shuffled, permutations=20).figures
    for name in ("centroid_cosine_distance", "centroid_shift_sd", "length_ratio", "refusal_rate_current",
                 "repetition_current", "length_p_value", "refusal_p_value"):
        assert a[name] == pytest.approx(b[name], rel=1e-9, abs=1e-12), name


@settings(max_examples=25, deadline=None)
@given(texts=TEXTS)
def test_a_window_against_itself_never_drifts(texts: list[str]) -> None:
    figures = semantic_drift(texts, list(texts), permutations=20).figures
    assert figures["drifted"] is False
    assert figures["centroid_shift_sd"] == pytest.approx(0.0, abs=1e-9)
    assert figures["length_ratio"] == pytest.approx(1.0) or figures["mean_length_reference"] == 0.0
