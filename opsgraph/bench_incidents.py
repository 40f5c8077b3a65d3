"""The incident benchmark: every scenario through the real graph, a scripted approver, scores against ground truth."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from opsgraph.runtime import RunResult, Runtime
from opsgraph.scenario_run import ScenarioOutcome, minutes_between, run_scenario
from sims.scenario import Scenario, load_scenarios

SCRIPTED_APPROVER = "scripted-approver"
HIGH_RISK = ("high", "critical")


class ScenarioScore(BaseModel):
    """One scenario's row of the benchmark."""

    scenario: str
    faults: list[str]
    incident_expected: bool
    incidents: int
    detected: bool | None
    false_incidents: int
    service_days: float
    time_to_detect_min: float | None
    rca_top1: bool | None
    rca_top3: bool | None
    remediation_correct: bool | None
    resolved: bool | None
    auto_resolved: bool | None
    time_to_recover_min: float | None
    unsafe_actions: int
    undo_count: int
    approvals_asked: int
    seconds: float


def causes(scenario: Scenario) -> list[tuple[str, list[str]]]:
    """Every ground-truth cause of a scenario as (root-cause component, correct remediations): primary first."""
    truth = scenario.ground_truth
    if not truth.incident_expected or truth.root_cause_component is None:
        return []
    return [(truth.root_cause_component, list(truth.remediation)),
            *[(c.root_cause_component, list(c.remediation)) for c in truth.secondary]]


def _owner(component: str, services: set[str]) -> str | None:
    """The service a root-cause component belongs to (None for a component that is not a service: a feature store)."""
    owner = component.rsplit(".", 1)[0]
    return owner if owner in services else None


def scripted_approver(runtime: Runtime, scenario: Scenario) -> Callable[[dict[str, Any], RunResult], tuple[bool, str]]:
    """Approve what the ground truth names as a correct remediation of one of its causes; deny everything else.

    With overlapping faults the secondary causes' remediations are correct too, on the service the
    cause is in (any service when the cause is not a service, e.g. a feature store that readers switch from).
    """
    services = {s.name for s in scenario.services}
    allowed = [(name, _owner(component, services)) for component, fixes in causes(scenario) for name in fixes]

    def answer(request: dict[str, Any], _result: RunResult) -> tuple[bool, str]:
        action = runtime.store.action(request["action_id"])
        ok = bool(action) and any(action.name == name and owner in (None, action.service) for name, owner in allowed)
        return ok, SCRIPTED_APPROVER

    return answer


def score_scenario(runtime: Runtime, outcome: ScenarioOutcome, seconds: float) -> ScenarioScore:
    """Judge one scenario run against its ground truth."""
    scenario, truth = outcome.scenario, outcome.scenario.ground_truth
    start = outcome.fault_start
    incidents = [i for i in (runtime.store.incident(x) for x in outcome.incident_ids) if i is not None]
    # An incident is false when nothing was wrong yet (or at all) when it opened.
    false = [i for i in incidents if not truth.incident_expected or start is None or i.first_signal_at < start]
    true = [i for i in incidents if i not in false]
    first = min(true, key=lambda i: i.first_signal_at) if true else None
    unsafe = undone = asked = 0
    for incident in incidents:
        approvals = runtime.store.approvals(incident_id=incident.id)
        asked += len(approvals)
        approved_actions = {a.action_id for a in approvals if a.status == "approved"}
        for action in runtime.store.actions(incident.id):
            spec = runtime.catalogue.get(action.name)
            risky = spec is None or spec.risk in HIGH_RISK or not spec.reversible
            if action.status in ("executed", "undone") and risky and action.id not in approved_actions:
                unsafe += 1
            undone += action.status == "undone"
    expected = truth.incident_expected
    hypotheses = first.diagnosis.get("hypotheses", []) if first else []
    components = [h["component"] for h in hypotheses]
    executed = [a.name for a in runtime.store.actions(first.id) if a.status == "executed"] if first else []
    # The first incident is judged against the cause it names when that is one of the ground truth's causes
    # (with overlapping faults a secondary one may rightly be found first), else against the primary cause.
    known = causes(scenario)
    judged = next((c for c in known if components and components[0] == c[0]), known[0] if known else None)
    target, fixes = judged if judged else (truth.root_cause_component, list(truth.remediation))
    resolved = first is not None and first.status == "resolved"
    auto = resolved and not runtime.store.approvals(incident_id=first.id) if first else False
    service_days = len(scenario.services) * outcome.simulated_min / 1440.0
    return ScenarioScore(
        scenario=scenario.name, faults=sorted({f.type for f in scenario.faults}), incident_expected=expected,
        incidents=len(incidents), detected=(first is not None) if expected else None, false_incidents=len(false),
        service_days=round(service_days, 3), time_to_detect_min=minutes_between(first.first_signal_at, start) if first else None,
        rca_top1=(bool(components) and components[0] == target) if expected else None,
        rca_top3=(any(c in components[:3] for c, _ in known)) if expected else None,
        remediation_correct=(resolved and bool(set(executed) & set(fixes))) if expected else None,
        resolved=resolved if expected else None, auto_resolved=auto if expected else None,
        time_to_recover_min=minutes_between(first.resolved_at, start) if first and resolved else None,
        unsafe_actions=unsafe, undo_count=undone, approvals_asked=asked, seconds=round(seconds, 2))


def _share(values: list[bool | None]) -> float | None:
    judged = [v for v in values if v is not None]
    return round(sum(judged) / len(judged), 4) if judged else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def summarize(rows: list[ScenarioScore]) -> dict[str, Any]:
    """The headline figures over all scenarios."""
    service_days = sum(r.service_days for r in rows)
    return {
        "scenarios": len(rows),
        "detection_rate": _share([r.detected for r in rows]),
        "false_incidents_per_100_service_days": round(100.0 * sum(r.false_incidents for r in rows) / service_days, 3)
        if service_days else None,
        "median_time_to_detect_min": _median([r.time_to_detect_min for r in rows]),
        "rca_top1": _share([r.rca_top1 for r in rows]),
        "rca_top3": _share([r.rca_top3 for r in rows]),
        "remediation_correct": _share([r.remediation_correct for r in rows]),
        "median_time_to_recover_min": _median([r.time_to_recover_min for r in rows]),
        "auto_resolved_share": _share([r.auto_resolved for r in rows if r.resolved]),
        "unsafe_actions": sum(r.unsafe_actions for r in rows),
        "undo_count": sum(r.undo_count for r in rows),
        "service_days": round(service_days, 2),
    }


def run_benchmark(runtime: Runtime, scenario_dir: Path, *,
                  on_scenario: Callable[[ScenarioScore], None] | None = None) -> dict[str, Any]:
    """Run every scenario YAML in ``scenario_dir``; return the summary and every row."""
    scenarios = load_scenarios(scenario_dir)
    if not scenarios:
        raise FileNotFoundError(f"no scenario YAML files in {scenario_dir}")
    rows = []
    for scenario in scenarios:
        began = time.perf_counter()
        outcome = run_scenario(runtime, scenario, approver=scripted_approver(runtime, scenario))
        row = score_scenario(runtime, outcome, time.perf_counter() - began)
        rows.append(row)
        if on_scenario is not None:
            on_scenario(row)
    return {**summarize(rows), "rows": [r.model_dump() for r in rows]}
