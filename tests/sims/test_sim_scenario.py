"""Scenario files: the bundled ones load and agree with their faults; bad files get clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sims.faults import FAULTS
from sims.scenario import BUNDLED, ScenarioError, load_scenario, load_scenarios
from sims.services import KINDS
from sims.world import SimWorld

GOOD = """
name: tiny
seed: 7
duration_min: 60
services:
  - {name: fraud-api, kind: fraud}
faults:
  - {type: data_drift, target: fraud-api, start_min: 10, magnitude: 2}
ground_truth:
  incident_expected: true
  root_cause_component: fraud-api.features
  layer: data
  remediation: [retrain_model]
  requires_approval: true
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bundled_scenarios_load_sorted_with_controls_and_every_phase1_fault():
    scenarios = load_scenarios(BUNDLED)
    files = sorted(p.name for p in BUNDLED.glob("*.yaml"))
    assert [s.name for s in scenarios] == [load_scenario(BUNDLED / f).name for f in files]
    assert len({s.name for s in scenarios}) == len(scenarios)
    fault_types = {f.type for s in scenarios for f in s.faults}
    assert {"data_drift", "bad_model_deploy", "latency_saturation", "pipeline_nulls"} <= fault_types
    assert sum(not s.ground_truth.incident_expected for s in scenarios) >= 4


@pytest.mark.parametrize("scenario", [s for s in load_scenarios(BUNDLED) if len(s.faults) == 1], ids=lambda s: s.name)
def test_single_fault_ground_truth_matches_the_fault_library(scenario):
    fault = scenario.faults[0]
    target = next(s for s in scenario.services if fault.target in (s.name, s.feature_store))
    kind = KINDS[target.kind]()
    expected = FAULTS[fault.type](fault, kind).ground_truth()
    assert scenario.ground_truth.model_dump(exclude={"secondary"}) == expected


def test_controls_have_no_faults():
    for s in load_scenarios(BUNDLED):
        assert s.ground_truth.incident_expected == bool(s.faults), s.name


def test_defaults_and_any_folder(tmp_path):
    write(tmp_path, GOOD, "b.yaml")
    write(tmp_path, GOOD.replace("name: tiny", "name: tiny2"), "a.yml")
    (tmp_path / "notes.txt").write_text("ignored")
    scenarios = load_scenarios(tmp_path)
    assert [s.name for s in scenarios] == ["tiny2", "tiny"]
    s = scenarios[1]
    assert s.tick_min == 5 and s.start.isoformat() == "2026-01-05T00:00:00+00:00" and s.start.weekday() == 0
    assert s.services[0].environment == "production" and s.services[0].label_delay_min == 30
    assert s.faults[0].ramp_min == 0 and s.faults[0].params == {}


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("type: data_drift", "type: data_drfit", ["faults.0.type", "unknown fault type 'data_drfit'", "data_drift"]),
        ("kind: fraud}", "kind: fraudd}", ["services.0.kind", "unknown service kind 'fraudd'"]),
        ("target: fraud-api", "target: nowhere", ["target 'nowhere' is not a service"]),
        ("duration_min: 60", "duration_min: -5", ["duration_min"]),
        ("magnitude: 2}", "magnitude: 2, params: {features: [colour]}}", ["unknown feature", "colour"]),
        ("seed: 7", "seed: 7\nsede: 8", ["sede", "Extra inputs are not permitted"]),
        ("layer: data", "layer: database", ["ground_truth.layer"]),
    ],
)
def test_bad_file_names_file_and_field(tmp_path, old, new, expect):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message
    for part in expect:
        assert part in message


def test_unparseable_yaml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(write(tmp_path, "name: [unclosed"))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        load_scenario(write(tmp_path, "- just\n- a list\n"))


def test_a_scenario_is_reproducible_from_its_seed(tmp_path):
    path = shutil.copy(BUNDLED / "04_pipeline_nulls.yaml", tmp_path / "s.yaml")
    a, b = (SimWorld.from_scenario(load_scenario(path)) for _ in range(2))
    for w in (a, b):
        w.advance(150)
    for service in ("fraud-api", "credit-score"):
        wa, wb = a.window(service, 240), b.window(service, 240)
        np.testing.assert_array_equal(wa.features, wb.features)
        np.testing.assert_array_equal(wa.predictions, wb.predictions)
        np.testing.assert_array_equal(wa.latency_ms, wb.latency_ms)
        assert wa.requests == wb.requests
    other = load_scenario(path).model_copy(update={"seed": 999})
    c = SimWorld.from_scenario(other)
    c.advance(150)
    assert not np.array_equal(c.window("fraud-api", 60).predictions[:20], a.window("fraud-api", 60).predictions[:20])


def test_public_api_is_complete():
    import sims

    public = {n for n in dir(sims) if not n.startswith("_") and n[0].isupper() or n.startswith("load")}
    assert public - {"annotations"} <= set(sims.__all__)
    for name in sims.__all__:
        assert hasattr(sims, name)
