"""Runs every case of policies/default_cases.yaml against policies/default.yaml, one test per case."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import policies
from policies.catalogue import Catalogue
from policies.engine import PolicyContext, PolicyEngine, PolicyFile

CASES_FILE = Path(policies.__file__).with_name("default_cases.yaml")
CASES: list[dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text())["cases"]
DEFAULT_NOW = "2025-06-04T10:00:00Z"  # a Wednesday morning
CATALOGUE = Catalogue.load()
ENGINE = PolicyEngine.load()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _engine_for(case: dict[str, Any]) -> PolicyEngine:
    """The default policy, with the case's freeze windows injected."""
    if "freeze_windows" not in case:
        return ENGINE
    policy = PolicyFile.model_validate({**ENGINE.policy.model_dump(), "freeze_windows": case["freeze_windows"]})
    return PolicyEngine(policy)


def _run(case: dict[str, Any]) -> None:
    ctx = PolicyContext.model_validate({"now": DEFAULT_NOW, **case["context"]})
    decision = _engine_for(case).decide(ctx, CATALOGUE)
    got = {key: getattr(decision, key) for key in case["expect"]}
    assert got == case["expect"], f"{case['name']}: {decision.reason}"


def _make_test(case: dict[str, Any]):
    def test(_case: dict[str, Any] = case) -> None:
        _run(_case)
    test.__name__ = f"test_{_slug(case['name'])}"
    test.__doc__ = case["name"]
    return test


for _case in CASES:
    globals()[f"test_{_slug(_case['name'])}"] = _make_test(_case)


def test_case_names_are_unique():
    slugs = [_slug(case["name"]) for case in CASES]
    assert len(slugs) == len(set(slugs))


def test_every_rule_of_the_default_policy_has_a_case():
    covered = {case["expect"]["rule_id"] for case in CASES}
    untested = [rule.id for rule in ENGINE.rules if rule.id not in covered]
    assert not untested, f"rules without a case in {CASES_FILE.name}: {untested}"


@pytest.mark.parametrize("outcome", ["auto", "approval", "deny"])
def test_cases_cover_every_outcome(outcome):
    assert any(case["expect"]["outcome"] == outcome for case in CASES)
