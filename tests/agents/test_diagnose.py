"""The diagnose rules on synthetic findings and sources: signal -> hypothesis -> action."""

from __future__ import annotations

import numpy as np
import pytest

from agents.deps import MonitorSettings
from agents.diagnose import diagnose, investigate, labelled_features, rank
from agents.monitor import scan
from tests.agents.conftest import NOW, FakeSource, event, finding, healthy
from tools.actions import PlatformError
from tools.observations import ServiceInfo

INFO = ServiceInfo(name="svc")
SETTINGS = MonitorSettings()


def top(kinds: list[str], events=(), context=None):
    hyps = rank([finding(k) for k in kinds], INFO, list(events), first_signal=NOW, lookback_min=240, context=context)
    assert hyps, f"no hypothesis for {kinds}"
    return hyps[0]


@pytest.mark.parametrize(("kinds", "events", "context", "component", "layer", "action"), [
    (["null_rate"], [], None, "svc.pipeline", "data", "restart_pipeline"),
    (["null_rate"], [], {"store": "online"}, "svc.pipeline", "data", "restart_pipeline"),
    (["null_rate", "shared_store_nulls"], [], {"store": "online"}, "online.store", "data", "switch_feature_store"),
    (["feature_drift"], [], None, "svc.features", "data", "retrain_model"),
    (["feature_drift", "unit_change", "prediction_drift"], [], None, "svc.pipeline", "data", "restart_pipeline"),
    (["performance_drop"], [], None, "svc.model", "model", "retrain_model"),
    (["performance_drop", "label_shift"], [], None, "svc.labels", "data", "retrain_model"),
    (["performance_drop", "segment_gap"], [], None, "svc.segment", "data", "retrain_model"),
    (["prediction_drift", "performance_drop"], [event("deploy", **{"from": "v1", "to": "v2"})], None,
     "svc.model", "model", "rollback_model"),
    (["prediction_drift", "feedback_echo"], [], None, "svc.feedback", "data", "quarantine_feedback"),
    (["prediction_drift"], [], None, "svc.feedback", "data", "quarantine_feedback"),
    (["feature_drift", "prediction_drift"], [event("prompt_deploy", **{"from": "p1", "to": "p2"})], None,
     "svc.prompt", "application", "pin_prompt_version"),
    (["memory_pressure", "error_rate"], [event("deploy", **{"from": "v1", "to": "v2"})], None,
     "svc.serving", "application", "rollback_model"),
    (["latency_slo"], [], None, "svc.serving", "infrastructure", "scale_up"),
    (["latency_slo", "error_rate", "capacity_loss"], [], None, "svc.serving", "infrastructure", "scale_up"),
    (["latency_slo", "error_rate", "traffic_surge"], [], None, "svc.traffic", "infrastructure", "scale_up"),
    (["latency_slo", "traffic_surge", "capacity_loss"], [], None, "svc.serving", "infrastructure", "scale_up"),
    (["error_rate"], [], None, "svc.serving", "infrastructure", "shift_traffic"),
])
def test_rule_table(kinds, events, context, component, layer, action):
    hyp = top(kinds, events, context)
    assert (hyp.component, hyp.layer, hyp.actions[0]) == (component, layer, action)
    assert hyp.evidence and all(e.startswith("tc-") for e in hyp.evidence)


def test_a_deploy_outside_the_lookback_is_not_evidence():
    old = event("deploy", minutes_ago=600, **{"from": "v1", "to": "v2"})
    assert top(["prediction_drift", "performance_drop"], [old]).actions != ["rollback_model"]


def test_a_store_rule_needs_a_known_store():
    hyps = rank([finding("null_rate"), finding("shared_store_nulls")], INFO, [], first_signal=NOW, lookback_min=240)
    assert all(not h.component.endswith(".store") for h in hyps)


def test_contradicting_signals_demote_a_cause():
    drift_only = top(["feature_drift"])
    with_nulls = rank([finding("feature_drift"), finding("null_rate")], INFO, [], first_signal=NOW, lookback_min=240)
    drift = next(h for h in with_nulls if h.component == "svc.features")
    assert drift.score < drift_only.score and with_nulls[0].component == "svc.pipeline"


def test_confidence_is_discounted_when_the_runner_up_is_close():
    clear = diagnose([finding("null_rate")], INFO, [], first_signal=NOW, lookback_min=240)
    close = diagnose([finding("latency_slo"), finding("traffic_surge"), finding("capacity_loss")], INFO, [],
                     first_signal=NOW, lookback_min=240)
    assert clear.confidence > close.confidence > 0


def test_no_finding_no_hypothesis():
    result = diagnose([], INFO, [], first_signal=NOW, lookback_min=240)
    assert result.hypotheses == [] and result.confidence == 0.0


# ------------------------------------------------------------------------------------------------ investigation


def test_surge_vs_capacity_loss_from_the_metric_series():
    surge = healthy()
    surge.metrics["rps"][-2:] *= 4
    surge.metrics["utilization"][-2:] *= 4
    inv = investigate(FakeSource(surge), surge.info, [finding("latency_slo")], SETTINGS)
    assert {e.kind for e in inv.evidence} == {"traffic_surge"}
    slow = healthy()
    slow.metrics["utilization"][-2:] *= 4
    inv = investigate(FakeSource(slow), slow.info, [finding("latency_slo")], SETTINGS)
    assert {e.kind for e in inv.evidence} == {"capacity_loss"}
    assert all("[tc-level_shift-" in e.summary for e in inv.evidence)


def test_scaling_does_not_look_like_a_capacity_change():
    svc = healthy()
    svc.metrics["replicas"][-2:] = 4.0
    svc.metrics["utilization"][-2:] /= 2
    inv = investigate(FakeSource(svc), svc.info, [finding("latency_slo")], SETTINGS)
    assert inv.evidence == []


def test_shared_store_nulls_only_from_readers_of_the_same_store():
    a, b, c = healthy("a"), healthy("b", seed=1), healthy("c", seed=2)
    a.store, b.store, c.store = "online", "online", "batch"
    b.features = b.features.copy()
    b.features[::3, 1] = np.nan
    inv = investigate(FakeSource(a, b, c), a.described, [finding("null_rate", "a")], SETTINGS)
    assert [e.kind for e in inv.evidence] == ["shared_store_nulls"] and inv.context["store"] == "online"
    inv = investigate(FakeSource(c, b), c.described, [finding("null_rate", "c")], SETTINGS)
    assert inv.evidence == []


def test_a_peer_that_already_left_the_store_is_evidence():
    a, b = healthy("a"), healthy("b", seed=1)
    a.store, b.store = "online", "fallback"
    moved = event("store_switch", service="b", minutes_ago=50, **{"from": "online", "to": "fallback"})
    inv = investigate(FakeSource(a, b, events=[moved]), a.described, [finding("null_rate", "a")], SETTINGS)
    assert [e.kind for e in inv.evidence] == ["shared_store_nulls"]
    assert "[tc-change_events-" in inv.evidence[0].summary


def test_unit_change_is_told_from_a_shift():
    svc = healthy()
    svc.features = svc.features.copy()
    svc.features[:, 2] *= 1000
    inv = investigate(FakeSource(svc), svc.info, [finding("feature_drift", drifted_both=["c"])], SETTINGS)
    assert [e.kind for e in inv.evidence] == ["unit_change"]
    shifted = healthy()
    shifted.features = shifted.features + np.array([0, 0, 3.0, 0])
    inv = investigate(FakeSource(shifted), shifted.info, [finding("feature_drift", drifted_both=["c"])], SETTINGS)
    assert inv.evidence == []


def test_label_shift_needs_the_labels_to_move_away_from_the_scores():
    svc = healthy()
    svc.labels = np.ones_like(svc.labels)
    svc.labels[::3] = 0
    inv = investigate(FakeSource(svc), svc.info, [finding("performance_drop")], SETTINGS)
    assert "label_shift" in {e.kind for e in inv.evidence}
    inv = investigate(FakeSource(healthy()), INFO, [finding("performance_drop")], SETTINGS)
    assert "label_shift" not in {e.kind for e in inv.evidence}


def test_segment_gap_when_one_group_breaks():
    svc = healthy()
    svc.ref_features = svc.ref_features.copy()
    svc.features = svc.features.copy()
    rng = np.random.default_rng(3)
    svc.ref_features[:, 3] = rng.integers(0, 3, len(svc.ref_features))
    svc.features[:, 3] = rng.integers(0, 3, len(svc.features))
    svc.labels = svc.labels.copy()
    hit = svc.features[:, 3] == 2
    svc.labels[hit] = 1 - svc.labels[hit]
    assert labelled_features(FakeSource(svc).window("svc", 60)) is not None
    inv = investigate(FakeSource(svc), svc.info, [finding("performance_drop")], SETTINGS)
    gap = [e for e in inv.evidence if e.kind == "segment_gap"]
    assert gap and gap[0].figures["worst_segment"] == "2"


def test_over_confident_scores_point_at_feedback():
    svc = healthy()
    p = np.clip(svc.predictions, 1e-6, 1 - 1e-6)
    svc.predictions = 1 / (1 + np.exp(-3 * np.log(p / (1 - p))))
    inv = investigate(FakeSource(svc), svc.info, [finding("prediction_drift")], SETTINGS)
    assert "feedback_echo" in {e.kind for e in inv.evidence}


def test_feature_store_from_the_service_description():
    svc = healthy()
    svc.store = "online"
    (published,) = FakeSource(svc).services()
    assert published.feature_store == "online"
    assert svc.info.feature_store is None


def test_the_cause_is_upstream_when_the_dependency_fails_the_same_way():
    up = healthy("up", seed=1)
    up.errors = 800
    down = healthy("down", depends_on=["up"])
    down.errors = 700
    source = FakeSource(up, down)
    found = scan(source, down.info, SETTINGS).findings
    assert [f.kind for f in found] == ["error_rate"]
    inv = investigate(source, down.info, found, SETTINGS)
    result = diagnose([*found, *inv.evidence], down.info, [], first_signal=NOW, lookback_min=240,
                      context=inv.context, extra=inv.upstream)
    best = result.hypotheses[0]
    assert best.component == "up.serving" and best.actions == ["shift_traffic"] and best.cause.startswith("upstream up")


def test_a_local_cause_beats_a_dependency_with_the_same_symptom():
    up = healthy("up", seed=1)
    up.latency_ms = up.latency_ms * 30
    down = healthy("down", depends_on=["up"], slo_p95_ms=250)
    down.latency_ms = down.latency_ms * 30
    down.metrics["utilization"][-2:] *= 5  # each request costs five times as much here
    source = FakeSource(up, down)
    found = scan(source, down.info, SETTINGS).findings
    inv = investigate(source, down.info, found, SETTINGS)
    result = diagnose([*found, *inv.evidence], down.info, [], first_signal=NOW, lookback_min=240,
                      context=inv.context, extra=inv.upstream)
    assert result.hypotheses[0].component == "down.serving"
    assert any(h.component == "up.serving" for h in result.hypotheses)


class TextSource(FakeSource):
    """FakeSource whose services also answer in text (an OutputSource); ``texts`` maps service -> (reference, live)."""

    def __init__(self, *services, texts: dict[str, tuple[list[str], list[str]]], **kw) -> None:
        super().__init__(*services, **kw)
        self.texts = texts

    def outputs(self, service: str, minutes: float) -> list[str]:
        if service not in self.texts:
            raise PlatformError(f"{service} is not a generative service")
        return self.texts[service][1]

    def reference_outputs(self, service: str) -> list[str]:
        if service not in self.texts:
            raise PlatformError(f"{service} is not a generative service")
        return self.texts[service][0]


def answers(n: int, seed: int, off_topic: float) -> list[str]:
    """On-topic answers with a share of off-topic chatter."""
    rng = np.random.default_rng(seed)
    topics = ("billing", "shipping", "returns", "passwords")
    return [f"Speaking of {rng.choice(topics)}, did you know it has {rng.integers(2, 9)} steps and a mascot?"
            if rng.random() < off_topic else
            f"Here is what I found about {rng.choice(topics)}: it is handled within {rng.integers(1, 5)} days."
            for _ in range(n)]


def test_changed_answers_of_a_generative_service_are_semantic_evidence_for_the_prompt():
    svc = healthy()
    drifted = TextSource(svc, texts={"svc": (answers(400, 1, 0.02), answers(300, 2, 0.4))})
    inv = investigate(drifted, svc.info, [finding("feature_drift")], SETTINGS)
    (evidence,) = [e for e in inv.evidence if e.kind == "semantic_drift"]
    assert evidence.layer == "application" and "meaning" in evidence.figures["drifted_signals"]
    assert evidence.tool_call_id in evidence.summary  # every number cites the call that made it
    prompt = [event("prompt_deploy", **{"from": "p1", "to": "p2"})]
    with_it = rank([finding("feature_drift"), evidence], INFO, prompt, first_signal=NOW, lookback_min=240)
    without = rank([finding("feature_drift")], INFO, prompt, first_signal=NOW, lookback_min=240)
    assert with_it[0].component == "svc.prompt" and with_it[0].score > without[0].score

    steady = TextSource(svc, texts={"svc": (answers(400, 1, 0.02), answers(300, 2, 0.02))})
    inv = investigate(steady, svc.info, [finding("feature_drift")], SETTINGS)
    assert "semantic_drift" not in {e.kind for e in inv.evidence}
    assert any(r.tool == "semantic_drift" for r in inv.results)  # asked, and answered "no"


def test_services_without_text_are_not_asked_about_their_answers():
    svc = healthy()
    inv = investigate(TextSource(svc, texts={}), svc.info, [finding("feature_drift")], SETTINGS)
    assert not any(r.tool == "semantic_drift" for r in inv.results)
    inv = investigate(FakeSource(svc), svc.info, [finding("feature_drift")], SETTINGS)
    assert not any(r.tool == "semantic_drift" for r in inv.results)


def test_a_metric_anomaly_starts_the_diagnosis_of_the_symptom_it_foreshadows():
    early = finding("metric_anomaly", metric="gpu_util", metrics={"gpu_util": 0.98, "p95_ms": 0.97})
    hyp = rank([early, finding("capacity_loss")], INFO, [], first_signal=NOW, lookback_min=240)[0]
    assert (hyp.component, hyp.actions[0]) == ("svc.serving", "scale_up")
    assert "latency_slo (early: metric anomaly)" in hyp.explanation and "tc-test-metric_anomaly" in hyp.evidence
    traffic_only = finding("metric_anomaly", metric="rps", metrics={"rps": 0.99})
    assert rank([traffic_only], INFO, [], first_signal=NOW, lookback_min=240) == []  # nothing to act on: escalate
