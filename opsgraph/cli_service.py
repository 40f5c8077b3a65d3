"""Commands of the long-running service: `opsgraph run` (loop + server), `serve`, `chat` and `token create`."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from opsgraph.settings import Settings

HomeOption = Annotated[Optional[Path], typer.Option("--home", help="Data directory (default $OPSGRAPH_HOME or ./.opsgraph).")]
HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port to listen on.")]

log = logging.getLogger("opsgraph.service")
CLOSED = ("resolved", "escalated")
token_app = typer.Typer(help="Bearer tokens of the HTTP API.", no_args_is_help=True)


def _server(app: Any, host: str, port: int, *, in_thread: bool) -> Any:
    """A uvicorn server; in a thread it leaves signal handling to the loop in the main thread."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    if in_thread:
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    return server


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT ask the loop to stop after the step in flight."""

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal.received", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(home: HomeOption = None,
        scenario: Annotated[Optional[Path], typer.Option(help="Scenario YAML the simulated fleet plays "
                                                             "(default: the shipped data-drift scenario).")] = None,
        interval: Annotated[float, typer.Option(help="Seconds between steps; each step is one simulated tick.")] = 2.0,
        host: HostOption = "127.0.0.1", port: PortOption = 8080,
        serve_http: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the HTTP API in this process.")] = True,
        new_world: Annotated[bool, typer.Option("--new-world", help="Start a fresh world instead of reloading.")] = False,
        max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many steps (scripts, tests).")] = None,
        check_every: Annotated[int, typer.Option(min=1, help="Poll every service every N steps; a service with a "
                                                              "new Alertmanager alert is checked at the next step.")] = 1,
        log_level: Annotated[str, typer.Option(help="debug | info | warning")] = "info") -> None:
    """Run the autonomous loop on the embedded defaults (simulator, SQLite, chroma), serving HTTP alongside."""
    from opsgraph.integrations.channels import approval_channels, outcome_notifiers, slack_from_env
    from opsgraph.loop import ServiceLoop, setup_json_logging
    from opsgraph.runtime import Runtime
    from opsgraph.server.auth import home_identity_book

    setup_json_logging(log_level.upper())
    settings = Settings.from_env(home)
    if scenario is not None and not scenario.exists():
        typer.echo(f"error: no scenario file {scenario}", err=True)
        raise typer.Exit(code=2)
    stop = threading.Event()
    _stop_on_signals(stop)
    runtime = Runtime(settings, channels=[])
    slack = slack_from_env(runtime.store, rolebook=lambda: home_identity_book(runtime.roles, settings.home),
                           home=settings.home)
    runtime.deps.channels.extend(approval_channels(slack=slack))
    loop = ServiceLoop(runtime, scenario=scenario, interval_s=interval, new_world=new_world,
                       notifiers=outcome_notifiers(slack=slack), check_every=check_every)
    loop.stop = stop
    server, thread = None, None
    if serve_http:
        from opsgraph.server.app import create_app

        server = _server(create_app(settings, runtime=runtime, slack=slack), host, port, in_thread=True)
        thread = threading.Thread(target=server.run, name="http", daemon=True)
        thread.start()
        log.info("http.serving", extra={"url": f"http://{host}:{port}", "docs": f"http://{host}:{port}/docs"})
    if slack is not None:
        slack.start_socket_mode()
    try:
        loop.run(max_steps=max_steps)
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
        runtime.close()
    log.info("service.exited")


def serve(home: HomeOption = None, host: HostOption = "127.0.0.1", port: PortOption = 8080,
          log_level: Annotated[str, typer.Option(help="debug | info | warning")] = "info") -> None:
    """Serve the HTTP API, dashboard and web chat alone (decisions are resumed by a running `opsgraph run`)."""
    from opsgraph.integrations.channels import slack_from_env
    from opsgraph.loop import setup_json_logging
    from opsgraph.runtime import Runtime
    from opsgraph.server.app import create_app
    from opsgraph.server.auth import home_identity_book

    setup_json_logging(log_level.upper())
    settings = Settings.from_env(home)
    runtime = Runtime(settings)
    slack = slack_from_env(runtime.store, rolebook=lambda: home_identity_book(runtime.roles, settings.home),
                           home=settings.home)
    server = _server(create_app(settings, runtime=runtime, slack=slack), host, port, in_thread=False)
    try:
        server.run()
    finally:
        runtime.close()


@token_app.command("create")
def token_create(user: str, home: HomeOption = None,
                 role: Annotated[list[str], typer.Option("--role", help="viewer | operator | approver | admin "
                                                                        "(repeatable).")] = ["viewer"]) -> None:  # noqa: B006
    """Create a bearer token for USER and print it (it is stored hashed; it cannot be shown again)."""
    from opsgraph.server.auth import create_token, tokens_path

    settings = Settings.from_env(home)
    try:
        token = create_token(settings.home, user, list(role))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(token)
    typer.echo(f"# {user} with roles {', '.join(role)}; stored in {tokens_path(settings.home)}", err=True)


def chat(home: HomeOption = None,
         ask: Annotated[Optional[str], typer.Option("--ask", help="Ask one question, print the answer, exit.")] = None,
         user: Annotated[Optional[str], typer.Option("--as", help="Who is asking (default $OPSGRAPH_USER).")] = None,
         wait: Annotated[float, typer.Option(help="After approving, wait up to this many seconds for the loop "
                                                  "to resume the incident.")] = 15.0) -> None:
    """On-call chat in the terminal: what is wrong, explain, pending approvals, approve/deny, similar, forecast."""
    from agents.chat import ChatEngine
    from agents.llm import llm_from_env
    from opsgraph.loop import WorldReader
    from opsgraph.runtime import Runtime

    settings = Settings.from_env(home)
    with Runtime(settings) as runtime:
        who = user or settings.user
        engine = ChatEngine(runtime.store, WorldReader(settings.worlds_dir), memory=runtime.memory,
                            llm=llm_from_env())
        roles = runtime.roles_of(who)

        def answer(question: str) -> None:
            reply = engine.ask(question, user=who, roles=roles)
            typer.echo(reply.text)
            for incident_id in reply.incidents if reply.decided else []:
                typer.echo(_await_resume(runtime, incident_id, wait))

        if ask is not None:
            answer(ask)
            return
        typer.echo(f"OpsGraph chat as {who} ({', '.join(sorted(roles))}). Ask 'help'; Ctrl-D to leave.")
        while True:
            try:
                question = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):
                typer.echo("")
                return
            if question in ("quit", "exit"):
                return
            if question:
                answer(question)


def _await_resume(runtime: Any, incident_id: str, wait: float) -> str:
    """Poll the store until the loop moved the incident on, or ``wait`` seconds passed."""
    deadline = time.monotonic() + wait
    incident = runtime.store.incident(incident_id)
    while incident is not None and incident.status not in CLOSED and time.monotonic() < deadline:
        time.sleep(0.25)
        incident = runtime.store.incident(incident_id)
    if incident is None:
        return f"incident {incident_id} not found"
    if incident.status == "awaiting_approval":
        return (f"incident {incident_id} is still {incident.status}: is `opsgraph run` running? It resumes decided "
                f"approvals at its next step.")
    return f"incident {incident_id} is now {incident.status}"


def register(app: typer.Typer) -> None:
    """Add the service commands to the `opsgraph` app."""
    app.command()(run)
    app.command()(serve)
    app.command()(chat)
    app.add_typer(token_app, name="token")

