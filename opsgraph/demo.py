"""The demo: scenario after scenario on the simulator, each incident shown live, then a summary."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.prompt import Confirm

import sims
from opsgraph.render import step_line, summary_table
from opsgraph.report import IncidentReport, scenario_reports
from opsgraph.runtime import RunResult, Runtime
from opsgraph.scenario_run import run_scenario
from sims.scenario import load_scenario

SCENARIO_DIR = Path(sims.__file__).parent / "scenarios"
DEMO_GLOB = "0[1-8]_*.yaml"


def interactive_default() -> bool:
    """Ask questions only with a terminal on stdin and outside CI."""
    return sys.stdin.isatty() and not os.environ.get("CI")


def run_demo(runtime: Runtime, *, scenario_dir: Path = SCENARIO_DIR, pattern: str = DEMO_GLOB,
             interactive: bool = False, console: Console | None = None) -> list[IncidentReport]:
    """Run every matching scenario; return one report per incident (or per quiet control)."""
    console = console or Console()
    paths = sorted(scenario_dir.glob(pattern))
    if not paths:
        raise FileNotFoundError(f"no scenario matches {pattern!r} in {scenario_dir}")
    reports: list[IncidentReport] = []
    for path in paths:
        scenario = load_scenario(path)
        faults = ", ".join(f"{f.type} on {f.target} at +{f.start_min:.0f} min" for f in scenario.faults) or "no fault"
        console.rule(f"[bold]{scenario.name}[/] — {faults}")

        def on_step(service: str, _node: str, update: dict[str, Any]) -> None:
            for entry in update.get("timeline", []) or []:
                console.print(step_line(service, entry["step"], entry["text"]))

        def ask(request: dict[str, Any], _result: RunResult) -> tuple[bool, str] | None:
            console.print(f"[bold magenta]approval needed[/] {request['summary']} (rule {request['rule_id']})")
            approved = Confirm.ask(f"Approve {request['approval_id']}?", console=console, default=True)
            return approved, runtime.settings.user

        def tell_pending(result: RunResult) -> None:
            for row in runtime.store.approvals(status="pending", incident_id=result.incident_id):
                console.print(f"  [bold magenta]pending approval[/] {row.id}: {row.summary}\n"
                              f"    decide from another shell: [bold]opsgraph approvals[/], "
                              f"[bold]opsgraph approve {row.id}[/] or [bold]opsgraph deny {row.id}[/]")

        outcome = run_scenario(runtime, scenario, on_step=on_step, approver=ask if interactive else None,
                               on_pending=tell_pending)
        if not outcome.incident_ids:
            console.print(f"  quiet: no incident in {outcome.simulated_min:.0f} simulated minutes")
        reports += scenario_reports(runtime.store, outcome)
    console.print(summary_table(reports))
    pending = [a for r in reports for a in r.pending_approvals]
    if pending:
        console.print(f"{len(pending)} action(s) wait for approval: run [bold]opsgraph approvals[/], then "
                      f"[bold]opsgraph approve ID[/] or [bold]opsgraph deny ID[/].")
    console.print(f"Postmortems: {runtime.settings.postmortem_dir}")
    return reports
