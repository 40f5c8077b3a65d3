"""The policy engine: conditions, first-match, invariants, explanations and policy-file checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from policies.catalogue import Catalogue
from policies.engine import (
    DEFAULT_POLICY,
    PolicyContext,
    PolicyEngine,
    PolicyError,
    PolicyFile,
    check_policy_file,
)

NOW = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)  # Wednesday


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def engine_of(*rules: dict, freeze_windows: list[dict] | None = None) -> PolicyEngine:
    return PolicyEngine(PolicyFile.model_validate({"rules": list(rules), "freeze_windows": freeze_windows or []}))


def ctx(action: str = "restart_pipeline", **fields) -> PolicyContext:
    return PolicyContext.model_validate({"action": action, "service": "fraud", "now": NOW, **fields})


def test_default_policy_file_is_valid():
    assert check_policy_file(DEFAULT_POLICY) == []


def test_first_matching_rule_decides(catalogue):
    engine = engine_of({"id": "first", "when": {"action": "restart_pipeline"}, "outcome": "deny"},
                       {"id": "second", "when": {}, "outcome": "auto"})
    decision = engine.decide(ctx(), catalogue)
    assert (decision.outcome, decision.rule_id) == ("deny", "first")


def test_irreversible_action_is_never_automatic_whatever_the_policy(catalogue):
    engine = engine_of({"id": "yolo", "when": {}, "outcome": "auto"})
    decision = engine.decide(ctx("restart_pipeline", reversible=False), catalogue)
    assert (decision.outcome, decision.rule_id, decision.matched_rule) == (
        "approval", "invariant.irreversible_needs_approval", "yolo")


def test_critical_action_needs_two_approvers_whatever_the_policy(catalogue):
    engine = engine_of({"id": "one_is_enough", "when": {}, "outcome": "approval", "required_count": 1})
    decision = engine.decide(ctx("delete_training_data", params={"dataset": "clicks"}), catalogue)
    assert (decision.outcome, decision.required_count) == ("approval", 2)
    assert decision.rule_id == "invariant.critical_needs_two_approvers"
    assert decision.matched_rule == "one_is_enough"


def test_critical_auto_becomes_two_person_approval(catalogue):
    engine = engine_of({"id": "yolo", "when": {}, "outcome": "auto"})
    decision = engine.decide(ctx("delete_training_data", params={"dataset": "clicks"}), catalogue)
    assert (decision.outcome, decision.required_count) == ("approval", 2)
    assert decision.rule_id == "invariant.critical_needs_two_approvers"


def test_deny_stays_deny_for_critical(catalogue):
    engine = engine_of({"id": "never", "when": {"risk": "critical"}, "outcome": "deny"})
    decision = engine.decide(ctx("delete_training_data", params={"dataset": "clicks"}), catalogue)
    assert (decision.outcome, decision.rule_id) == ("deny", "never")


def test_context_cannot_lower_catalogue_risk(catalogue):
    engine = engine_of({"id": "low_auto", "when": {"risk": "low"}, "outcome": "auto"},
                       {"id": "rest", "when": {}, "outcome": "approval"})
    decision = engine.decide(ctx("rollback_model", risk="low"), catalogue)
    assert (decision.rule_id, decision.risk) == ("rest", "high")


def test_no_matching_rule_falls_back_to_approval(catalogue):
    engine = engine_of({"id": "only_scaling", "when": {"action": "scale_up"}, "outcome": "auto"})
    decision = engine.decide(ctx(), catalogue)
    assert (decision.outcome, decision.rule_id) == ("approval", "policy.no_rule_matched")


@pytest.mark.parametrize(("when", "fields", "matched"), [
    ({"blast_radius_max": 0.2}, {"blast_radius": 0.2}, True),
    ({"blast_radius_max": 0.2}, {"blast_radius": 0.21}, False),
    ({"blast_radius_min": 0.5}, {"blast_radius": 0.5}, True),
    ({"confidence_min": 0.8}, {"confidence": 0.79}, False),
    ({"confidence_below": 0.5}, {"confidence": 0.49}, True),
    ({"tier": [1, 2]}, {"tier": 3}, False),
    ({"environment": "production"}, {"environment": "staging"}, False),
    ({"risk_min": "medium"}, {"risk": "high"}, True),
    ({"rate_limit_service": 6}, {"actions_last_hour_service": 5}, False),
    ({"rate_limit_service": 6}, {"actions_last_hour_service": 6}, True),
    ({"rate_limit_action": 0}, {}, True),
    ({"replicas_within_max": True}, {"replicas_after": 3, "max_replicas": 3}, True),
    ({"replicas_within_max": False}, {"replicas_after": 4, "max_replicas": 3}, True),
    ({"replicas_within_max": False}, {}, False),
    ({"replicas_within_max": True}, {}, False),
    ({"replicas_known": False}, {"replicas_after": 2, "max_replicas": 3}, False),
    ({"replicas_known": False}, {"max_replicas": 3}, True),
    ({"reversible": False}, {"reversible": False}, True),
])
def test_condition(catalogue, when, fields, matched):
    engine = engine_of({"id": "rule", "when": when, "outcome": "deny"})
    trace = engine.explain(ctx(**fields), catalogue)[0]
    assert trace.matched is matched, trace.why


def test_explain_lists_every_rule_and_marks_the_one_that_decided(catalogue):
    engine = PolicyEngine.load()
    context = ctx("scale_up", params={"replicas": 12}, max_replicas=10)
    traces = engine.explain(context, catalogue)
    assert [t.id for t in traces][:-3] == [rule.id for rule in engine.rules]
    assert [t.id for t in traces][-3:] == ["invariant.irreversible_needs_approval",
                                           "invariant.high_risk_in_production_needs_approval",
                                           "invariant.critical_needs_two_approvers"]
    decided = [t for t in traces if t.decided]
    assert [t.id for t in decided] == ["scaling.beyond_max_replicas"] == [engine.decide(context, catalogue).rule_id]
    assert "12" in decided[0].why and "10" in decided[0].why


def test_explain_marks_the_invariant_as_decider_when_it_overrides(catalogue):
    engine = engine_of({"id": "yolo", "when": {}, "outcome": "auto"})
    traces = engine.explain(ctx(reversible=False), catalogue)
    assert [t.id for t in traces if t.decided] == ["invariant.irreversible_needs_approval"]


def test_absolute_freeze_window_is_start_inclusive_end_exclusive(catalogue):
    window = {"id": "w", "start": "2025-06-04T10:00:00Z", "end": "2025-06-04T12:00:00Z"}
    engine = engine_of({"id": "frozen", "when": {"in_freeze": True}, "outcome": "deny"},
                       {"id": "open", "when": {}, "outcome": "auto"}, freeze_windows=[window])
    at = lambda hour, minute=0: ctx(now=datetime(2025, 6, 4, hour, minute, tzinfo=UTC))  # noqa: E731
    assert [engine.decide(at(h, m), catalogue).rule_id for h, m in [(9, 59), (10, 0), (11, 59), (12, 0)]] == [
        "open", "frozen", "frozen", "open"]


def test_cron_freeze_window_follows_its_time_zone(catalogue):
    window = {"id": "weekend", "cron": "sat,sun *", "tz": "America/New_York"}
    engine = engine_of({"id": "frozen", "when": {"in_freeze": True}, "outcome": "deny"},
                       {"id": "open", "when": {}, "outcome": "auto"}, freeze_windows=[window])
    # Saturday 02:00 UTC is still Friday evening in New York.
    assert engine.decide(ctx(now=datetime(2025, 6, 7, 2, tzinfo=UTC)), catalogue).rule_id == "open"
    assert engine.decide(ctx(now=datetime(2025, 6, 7, 5, tzinfo=UTC)), catalogue).rule_id == "frozen"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ("rules:\n  - id: a\n    when: {enviroment: production}\n    outcome: auto\n",
     "line 3: rules[0] (id 'a').when.enviroment: unknown field (did you mean 'environment'?)"),
    ("rules:\n  - id: a\n    outcome: maybe\n",
     "line 3: rules[0] (id 'a').outcome: Input should be 'auto', 'approval' or 'deny'"),
    ("rules:\n  - id: a\n    when: {blast_radius_max: 3}\n    outcome: auto\n",
     "line 3: rules[0] (id 'a').when.blast_radius_max: Input should be less than or equal to 1"),
    ("rules:\n  - id: a\n    when: {action: [scale_up, nuke]}\n    outcome: auto\n",
     "line 3: rules[0] (id 'a').when.action: 'nuke' is not in the catalogue"),
    ("rules:\n  - id: a\n    outcome: auto\n  - id: a\n    when: {tier: 1}\n    outcome: deny\n",
     "line 4: rules[1] (id 'a'): duplicate rule id (first used by rules[0])"),
    ("rules:\n  - id: a\n    outcome: auto\n  - id: b\n    outcome: deny\n",
     "line 4: rules[1] (id 'b'): never reached, rule 'a' before it matches everything"),
    ("freeze_windows:\n  - {id: w, cron: 'fry 16-23'}\nrules:\n  - {id: a, outcome: auto}\n",
     "line 2: freeze_windows[0] (id 'w').cron: cron 'fry 16-23': 'fry' is not a weekday (mon..sun) or range of them"),
    ("freeze_windows:\n  - {id: w, start: 2025-06-02T00:00:00Z}\nrules:\n  - {id: a, outcome: auto}\n",
     "line 2: freeze_windows[0] (id 'w'): freeze window 'w' needs both start and end, with end after start"),
    ("rules:\n  - id: a\n    outcome: auto\n   bad: [\n", "YAML syntax error"),
    ("rules: []\n", "line 1: rules: List should have at least 1 item"),
])
def test_check_policy_file_names_line_and_field(tmp_path, text, expected):
    problems = check_policy_file(write(tmp_path, text))
    assert any(expected in problem for problem in problems), problems


def test_load_refuses_an_invalid_policy_listing_every_problem(tmp_path):
    path = write(tmp_path, "rules:\n  - id: a\n    outcome: maybe\n    required_role: boss\n")
    with pytest.raises(PolicyError) as info:
        PolicyEngine.load(path)
    assert "line 3" in str(info.value) and "line 4" in str(info.value)


def test_context_rejects_out_of_range_numbers():
    with pytest.raises(ValueError, match="blast_radius"):
        PolicyContext(action="scale_up", service="s", blast_radius=1.5)


def test_high_risk_in_production_needs_approval_even_when_a_rule_says_auto(catalogue):
    engine = engine_of({"id": "yolo", "when": {}, "outcome": "auto"})
    decision = engine.decide(ctx("rollback_model", environment="production"), catalogue)
    assert decision.outcome == "approval"
    assert decision.rule_id == "invariant.high_risk_in_production_needs_approval"
    assert engine.decide(ctx("rollback_model", environment="staging"), catalogue).outcome == "auto"


def test_an_approval_always_needs_at_least_the_approver_role(catalogue):
    engine = engine_of({"id": "lax", "when": {}, "outcome": "approval", "required_role": "operator"})
    decision = engine.decide(ctx("rollback_model"), catalogue)
    assert decision.outcome == "approval"
    assert decision.required_role == "approver"
