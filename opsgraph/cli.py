"""The `opsgraph` command line: demo, incidents, approvals, audit, policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from opsgraph.settings import Settings

app = typer.Typer(help="OpsGraph keeps AI/ML services healthy: monitor, diagnose, remediate, audit.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
policy_app = typer.Typer(help="Policy files: check and explain.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")

console = Console()
if not console.is_terminal:  # logs and CI: wide enough for the summary table
    console = Console(width=180)
HomeOption = Annotated[Optional[Path], typer.Option("--home", help="Data directory (default $OPSGRAPH_HOME or ./.opsgraph).")]


def _runtime(home: Path | None):  # noqa: ANN202 - imported lazily so `--help` stays fast
    from opsgraph.runtime import Runtime

    return Runtime(Settings.from_env(home))


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=2)


@app.command()
def demo(home: HomeOption = None,
         scenarios: Annotated[Optional[Path], typer.Option(help="Folder of scenario YAML files.")] = None,
         pattern: Annotated[Optional[str], typer.Option(help="Glob of scenario files to run.")] = None,
         no_input: Annotated[bool, typer.Option("--no-input", help="Never prompt; leave approvals pending.")] = False) -> None:
    """Run the simulator fleet through scenario faults and show each incident end to end."""
    from opsgraph.demo import DEMO_GLOB, SCENARIO_DIR, interactive_default, run_demo

    with _runtime(home) as runtime:
        try:
            run_demo(runtime, scenario_dir=scenarios or SCENARIO_DIR, pattern=pattern or DEMO_GLOB,
                     interactive=interactive_default() and not no_input, console=console)
        except FileNotFoundError as exc:
            _fail(str(exc))


@app.command()
def incidents(home: HomeOption = None,
              status: Annotated[Optional[str], typer.Option(help="open | resolved | escalated | awaiting_approval")] = None) -> None:
    """List incidents, newest first."""
    from opsgraph.render import incidents_table

    with _runtime(home) as runtime:
        console.print(incidents_table(runtime.store, status=status))


@app.command()
def show(incident_id: str, home: HomeOption = None) -> None:
    """Show one incident: findings, diagnosis, actions and audit, numbers citing their tool calls."""
    from opsgraph.render import incident_detail

    with _runtime(home) as runtime:
        try:
            console.print(incident_detail(runtime.store, incident_id))
        except KeyError as exc:
            _fail(str(exc.args[0]))


@app.command()
def approvals(home: HomeOption = None,
              all_: Annotated[bool, typer.Option("--all", help="Include decided and expired requests.")] = False) -> None:
    """List approval requests (pending ones by default)."""
    from opsgraph.render import approvals_table

    with _runtime(home) as runtime:
        console.print(approvals_table(runtime.store, status=None if all_ else "pending"))


def _decide(approval_id: str, approve: bool, home: Path | None, user: str | None, reason: str) -> None:
    from policies.approvals import ApprovalError

    with _runtime(home) as runtime:
        who = user or runtime.settings.user

        def on_step(service: str, _node: str, update: dict) -> None:
            from opsgraph.render import step_line

            for entry in update.get("timeline", []) or []:
                console.print(step_line(service, entry["step"], entry["text"]))

        try:
            result = runtime.decide(approval_id, approve=approve, user=who, reason=reason, on_step=on_step)
        except ApprovalError as exc:
            _fail(str(exc))
            return
        incident = runtime.store.incident(result.incident_id)
        console.print(f"{'approved' if approve else 'denied'} {approval_id} as {who}: incident {result.incident_id} "
                      f"is now [bold]{incident.status if incident else result.ended}[/]")


@app.command()
def approve(approval_id: str, home: HomeOption = None,
            user: Annotated[Optional[str], typer.Option("--as", help="Approving user (default $OPSGRAPH_USER).")] = None,
            reason: Annotated[str, typer.Option(help="Why.")] = "") -> None:
    """Approve a pending action; the incident resumes, executes, verifies and is recorded."""
    _decide(approval_id, True, home, user, reason)


@app.command()
def deny(approval_id: str, home: HomeOption = None,
         user: Annotated[Optional[str], typer.Option("--as", help="Denying user (default $OPSGRAPH_USER).")] = None,
         reason: Annotated[str, typer.Option(help="Why.")] = "") -> None:
    """Deny a pending action; the incident is escalated to a human."""
    _decide(approval_id, False, home, user, reason)


@audit_app.command("verify")
def audit_verify(home: HomeOption = None) -> None:
    """Check the hash chain; name the first edited, deleted or reordered entry."""
    from policies import audit

    with _runtime(home) as runtime:
        verdict = audit.verify(runtime.store)
    if verdict.ok:
        console.print(f"audit log intact: {verdict.entries} entries")
        return
    console.print(f"[bold red]audit log broken[/] at entry {verdict.first_bad_seq}: {verdict.reason}")
    raise typer.Exit(code=1)


@audit_app.command("export")
def audit_export(out: Annotated[Path, typer.Option(help="JSON Lines file to write.")], home: HomeOption = None) -> None:
    """Write the audit log as JSON Lines (personal data redacted)."""
    from policies import audit

    with _runtime(home) as runtime:
        count = audit.export_jsonl(runtime.store, out)
    console.print(f"wrote {count} entries to {out}")


@policy_app.command("check")
def policy_check(path: Path) -> None:
    """Validate a policy file; list every problem with where it is."""
    from policies.engine import check_policy_file

    problems = check_policy_file(path)
    if not problems:
        console.print(f"{path}: valid")
        return
    for problem in problems:
        console.print(f"[red]{problem}[/]")
    raise typer.Exit(code=1)


@policy_app.command("explain")
def policy_explain(action: str,
                   service: Annotated[str, typer.Option(help="Target service.")] = "svc",
                   environment: Annotated[str, typer.Option(help="Environment.")] = "production",
                   tier: Annotated[int, typer.Option(help="Service tier (0 = most critical).")] = 2,
                   confidence: Annotated[float, typer.Option(help="Diagnosis confidence 0..1.")] = 0.9,
                   blast_radius: Annotated[float, typer.Option(help="Share of traffic touched 0..1.")] = 0.0,
                   params: Annotated[str, typer.Option(help="Action parameters as JSON.")] = "{}",
                   policy: Annotated[Optional[Path], typer.Option(help="Policy file (default: built-in).")] = None) -> None:
    """Say which rule would decide an action and why."""
    from policies.catalogue import Catalogue
    from policies.engine import PolicyContext, PolicyEngine

    catalogue = Catalogue.load()
    engine = PolicyEngine.load(policy)
    spec = catalogue.get(action)
    try:
        parsed = json.loads(params)
    except json.JSONDecodeError as exc:
        _fail(f"--params is not valid JSON: {exc}")
        return
    ctx = PolicyContext(action=action, service=service, params=parsed, environment=environment, tier=tier,
                        risk=spec.risk if spec else "critical", reversible=spec.reversible if spec else False,
                        blast_radius=blast_radius, confidence=confidence, now=datetime.now(UTC),
                        actions_last_hour_service=0, actions_last_hour_action=0,
                        replicas_after=parsed.get("replicas"), max_replicas=None)
    decision = engine.decide(ctx, catalogue)
    for trace in engine.explain(ctx, catalogue):
        console.print(f"{'[green]match[/]' if trace.matched else '[dim]skip [/]'} {trace.id}: {trace.why}")
    console.print(f"decision: [bold]{decision.outcome}[/] by rule {decision.rule_id} — {decision.reason}")


def _register_extensions() -> None:
    """Commands that live in their own modules (service loop, server, chat, benchmarks)."""
    import importlib

    for module in ("opsgraph.cli_service", "opsgraph.cli_bench"):
        try:
            importlib.import_module(module).register(app)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_extensions()

if __name__ == "__main__":  # pragma: no cover
    app()
