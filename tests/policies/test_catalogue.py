"""The packaged action catalogue and parameter validation."""

from __future__ import annotations

import pytest

from policies.catalogue import ActionSpec, Catalogue, CatalogueError

REQUIRED = {
    "rollback_model": ("high", True), "retrain_model": ("high", True), "scale_up": ("low", True),
    "scale_down": ("medium", True), "restart_pipeline": ("low", True), "switch_feature_store": ("medium", True),
    "shift_traffic": ("high", True), "quarantine_feedback": ("medium", True),
    "pin_prompt_version": ("medium", True), "escalate": ("low", True), "delete_training_data": ("critical", False),
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.mark.parametrize(("name", "expected"), REQUIRED.items())
def test_catalogue_has_action_with_risk_and_reversibility(catalogue, name, expected):
    spec = catalogue.get(name)
    assert isinstance(spec, ActionSpec)
    assert (spec.risk, spec.reversible) == expected
    assert spec.description
    assert (spec.undo is not None) == spec.reversible


def test_unknown_action_is_none(catalogue):
    assert catalogue.get("format_disk") is None
    assert "format_disk" not in catalogue
    assert set(REQUIRED) <= set(catalogue.names())


def test_scale_up_takes_integer_replicas(catalogue):
    assert catalogue.get("scale_up").params["replicas"].type == "int"
    assert catalogue.validate_params("scale_up", {"replicas": 4}) == {"replicas": 4}


@pytest.mark.parametrize(("name", "params", "message"), [
    ("scale_up", {}, "missing required parameter 'replicas'"),
    ("scale_up", {"replicas": "4"}, "parameter 'replicas' must be int, got str"),
    ("scale_up", {"replicas": True}, "parameter 'replicas' must be int, got bool"),
    ("scale_up", {"replicas": 4, "force": True}, "unknown parameter 'force'"),
    ("format_disk", {}, "unknown action 'format_disk'"),
])
def test_invalid_params_get_a_clear_error(catalogue, name, params, message):
    with pytest.raises(CatalogueError, match=message):
        catalogue.validate_params(name, params)


def test_float_parameter_accepts_an_int(catalogue):
    assert catalogue.validate_params("shift_traffic", {"share": 1}) == {"share": 1}


def test_reversible_action_without_undo_is_rejected(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text("actions:\n  nuke:\n    description: x\n    risk: low\n    reversible: true\n    layer: data\n")
    with pytest.raises(CatalogueError, match="reversible but says nothing about how it is undone"):
        Catalogue.load(path)


def test_bad_risk_names_the_action(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text("actions:\n  nuke:\n    description: x\n    risk: extreme\n    reversible: false\n    layer: data\n")
    with pytest.raises(CatalogueError, match="'nuke'"):
        Catalogue.load(path)
