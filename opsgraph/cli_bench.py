"""`opsgraph bench ...`: benchmarks that run the real graph."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

bench_app = typer.Typer(help="Benchmarks on the simulator.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `bench` command group to the main CLI."""
    app.add_typer(bench_app, name="bench")


@bench_app.command("incidents")
def incidents(scenarios: Annotated[Path, typer.Option(help="Folder of scenario YAML files.")],
              out: Annotated[Path, typer.Option(help="JSON file to write.")],
              memory: Annotated[bool, typer.Option(help="Use vector memory across scenarios.")] = False,
              home: Annotated[Optional[Path], typer.Option(help="Data directory (default: a fresh temporary one).")] = None) -> None:
    """Run every scenario through the real graph (no LLM) with a scripted approver; score against ground truth."""
    from opsgraph.bench_incidents import SCRIPTED_APPROVER, run_benchmark
    from opsgraph.runtime import Runtime
    from opsgraph.settings import Settings

    console = Console(width=160) if not Console().is_terminal else Console()
    with tempfile.TemporaryDirectory(prefix="opsgraph-bench-") as scratch:
        settings = Settings.from_env(home or Path(scratch)).model_copy(
            update={"user": SCRIPTED_APPROVER, "memory_enabled": memory, "roles_file": None})
        with Runtime(settings) as runtime:
            def progress(row) -> None:  # noqa: ANN001
                console.print(f"  {row.scenario:<40} incidents={row.incidents} detected={row.detected} "
                              f"rca={row.rca_top1} fixed={row.remediation_correct} ({row.seconds:.1f} s)")
            try:
                result = run_benchmark(runtime, scenarios, on_scenario=progress)
            except FileNotFoundError as exc:
                console.print(f"[bold red]error:[/] {exc}")
                raise typer.Exit(code=2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    table = Table(title=f"Incident benchmark: {scenarios}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if key != "rows":
            table.add_row(key, "-" if value is None else str(value))
    console.print(table)
    console.print(f"wrote {out}")


@bench_app.command("memory")
def memory(scenarios: Annotated[Path, typer.Option(help="Folder of scenario YAML files whose causes recur.")],
           out: Annotated[Path, typer.Option(help="JSON file to write.")],
           pattern: Annotated[str, typer.Option(help="Glob of scenario files in the folder.")] = "*.yaml",
           rounds: Annotated[int, typer.Option(help="How often each scenario recurs (reseeded).")] = 3,
           disable_probe: Annotated[Optional[list[str]], typer.Option(
               help="Investigation question to leave unasked (ablation), e.g. capacity_loss; repeatable.")] = None) -> None:
    """Recurring root causes with vector memory vs without: RCA, remediation, time to recover, undos."""
    from opsgraph.bench_memory import KEYS, compare
    from sims.scenario import load_scenario

    console = Console(width=160) if not Console().is_terminal else Console()
    paths = sorted(scenarios.glob(pattern))
    if not paths:
        console.print(f"[bold red]error:[/] no scenario matches {pattern!r} in {scenarios}")
        raise typer.Exit(code=2)
    result = compare([load_scenario(p) for p in paths], rounds=rounds, disabled_probes=frozenset(disable_probe or []),
                     on_row=lambda label, row: console.print(
                         f"  {label:<15} {row.scenario:<44} rca={row.rca_top1} fixed={row.remediation_correct} "
                         f"undo={row.undo_count} ttr={row.time_to_recover_min}"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    table = Table(title=f"Memory benchmark: rounds 2..{rounds} of {len(paths)} scenarios")
    table.add_column("metric")
    table.add_column("without memory", justify="right")
    table.add_column("with memory", justify="right")
    for key in (*KEYS, "runs"):
        table.add_row(key, str(result["without_memory"][key]), str(result["with_memory"][key]))
    console.print(table)
    console.print(f"wrote {out}")
