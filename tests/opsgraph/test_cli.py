"""The command line: help, incidents, show (numbers cite tool calls), policy and audit commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsgraph.cli import app
from opsgraph.runtime import Runtime
from opsgraph.scenario_run import run_scenario
from tests.opsgraph.conftest import scenario

runner = CliRunner()
CITATION = re.compile(r"\[tc-[a-z_]+-[0-9a-f]{10}\]")


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "incidents", "show", "approvals", "approve", "deny", "audit", "policy"):
        assert command in result.output


@pytest.fixture
def one_incident(runtime: Runtime) -> str:
    outcome = run_scenario(runtime, scenario("04_"), approver=None)
    assert outcome.incident_ids
    return outcome.incident_ids[0]


def test_incidents_and_show_cite_every_number(one_incident: str, home: Path) -> None:
    listed = runner.invoke(app, ["incidents", "--home", str(home)])
    assert listed.exit_code == 0, listed.output
    assert one_incident in listed.output

    shown = runner.invoke(app, ["show", one_incident, "--home", str(home)])
    assert shown.exit_code == 0, shown.output
    assert "restart_pipeline" in shown.output
    findings = shown.output.split("Findings", 1)[1].split("Diagnosis", 1)[0]
    numbers = re.findall(r"\d+(?:\.\d+)?%?\s*\[tc-", findings.replace("\n", " "))
    assert numbers and CITATION.search(findings), findings


def test_show_unknown_incident_is_a_clear_error(home: Path) -> None:
    result = runner.invoke(app, ["show", "inc-nope", "--home", str(home)])
    assert result.exit_code == 2
    assert "unknown incident" in result.output


def test_audit_verify_passes_on_a_clean_log(one_incident: str, home: Path) -> None:
    result = runner.invoke(app, ["audit", "verify", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_policy_explain_names_the_deciding_rule() -> None:
    result = runner.invoke(app, ["policy", "explain", "rollback_model", "--environment", "production"])
    assert result.exit_code == 0, result.output
    assert "decision: approval" in result.output
    assert "production.model_change_needs_approval" in result.output


def test_policy_check_reports_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nrules:\n  - id: x\n    when: {enviroment: production}\n    outcome: auto\n")
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert "enviroment" in result.output


def test_audit_verify_names_the_first_edited_entry(one_incident: str, home: Path) -> None:
    import sqlite3

    with sqlite3.connect(home / "opsgraph.sqlite") as conn:
        conn.execute("UPDATE audit_entries SET payload = '{\"forged\": true}' WHERE seq = 3")
    result = runner.invoke(app, ["audit", "verify", "--home", str(home)])
    assert result.exit_code == 1
    assert "entry 3" in result.output


def test_audit_export_writes_json_lines(one_incident: str, home: Path, tmp_path: Path) -> None:
    import json

    out = tmp_path / "audit.jsonl"
    result = runner.invoke(app, ["audit", "export", "--out", str(out), "--home", str(home)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all("hash" in line and "kind" in line for line in lines)
