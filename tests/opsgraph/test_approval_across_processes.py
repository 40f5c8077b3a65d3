"""An incident waiting for approval survives its process: a new process approves it and it resolves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from memory.store import Store, sqlite_url
from policies import approvals, audit

OPSGRAPH = [sys.executable, "-m", "opsgraph.cli"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGRAPH_")}
    env.update(OPSGRAPH_HOME=str(home), OPSGRAPH_USER="alice", OPSGRAPH_MEMORY="0", CI="true")
    return env


def _wait_for_pending(store: Store, proc: subprocess.Popen[bytes], timeout_s: float = 180.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pending = store.approvals(status="pending")
        except Exception:  # the other process may still be creating the tables
            pending = []
        if pending:
            return pending[0].id
        assert proc.poll() is None, "demo ended without asking for approval"
        time.sleep(0.2)
    raise AssertionError("no approval was requested in time")


def test_killed_while_waiting_then_approved_from_a_new_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    demo = subprocess.Popen([*OPSGRAPH, "demo", "--no-input", "--pattern", "02_*.yaml"], env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = None
    try:
        while not (home / "opsgraph.sqlite").exists():
            assert demo.poll() is None, demo.stderr.read().decode() if demo.stderr else ""
            time.sleep(0.2)
        store = Store(sqlite_url(home / "opsgraph.sqlite"))
        approval_id = _wait_for_pending(store, demo)
        demo.send_signal(signal.SIGKILL)  # no clean shutdown: nothing may be lost
        demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()

    approval = store.approval(approval_id)
    assert approval is not None and approval.status == "pending"
    incident = store.incident(approval.incident_id)
    assert incident is not None and incident.status == "awaiting_approval"

    done = subprocess.run([*OPSGRAPH, "approve", approval_id], env=_env(home), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resolved" in done.stdout

    incident = store.incident(approval.incident_id)
    assert incident is not None and incident.status == "resolved"
    actions = store.actions(incident.id)
    assert [a.name for a in actions if a.status == "executed"] == ["rollback_model"]
    kinds = [e.kind for e in store.audit_entries(incident.id)]
    for kind in ("approval.requested", "action.executed", "verification", "incident.closed"):
        assert any(k.startswith(kind) for k in kinds), (kind, kinds)
    assert audit.verify(store).ok
    assert Path(incident.postmortem_path or "").exists()


def test_approving_twice_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "home"
    demo = subprocess.run([*OPSGRAPH, "demo", "--no-input", "--pattern", "02_*.yaml"], env=_env(home),
                          capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr
    store = Store(sqlite_url(home / "opsgraph.sqlite"))
    (approval,) = store.approvals(status="pending")
    assert f"opsgraph approve {approval.id}" in demo.stdout
    first = subprocess.run([*OPSGRAPH, "approve", approval.id], env=_env(home), capture_output=True, text=True,
                           timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    again = subprocess.run([*OPSGRAPH, "approve", approval.id], env=_env(home), capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 2
    assert "already" in again.stdout.lower()


class _ProcessDies(BaseException):
    """Stands for the process being killed: nothing after it runs and no handler catches it."""


class _DiesOnPost:
    """An approval channel whose process dies the moment the request is visible, before the thread pauses."""

    name = "dies"

    def post(self, request: dict) -> None:
        raise _ProcessDies


def test_killed_after_the_request_became_visible_but_before_the_thread_paused(home: Path, monkeypatch) -> None:
    from opsgraph.runtime import Runtime
    from opsgraph.scenario_run import run_scenario
    from opsgraph.settings import Settings
    from tests.opsgraph.conftest import scenario

    monkeypatch.setenv("OPSGRAPH_MEMORY", "0")
    with Runtime(Settings.from_env(), channels=[_DiesOnPost()]) as first:
        try:
            run_scenario(first, scenario("02_"), approver=None)
        except _ProcessDies:
            pass
        (pending,) = first.store.approvals(status="pending")
        assert first.waiting_on(pending.incident_id) == []  # the thread never reached its pause
    with Runtime(Settings.from_env()) as second:  # a new process answers
        result = second.decide(pending.id, approve=True, user="alice")
        assert result.ended == "resolved"
        actions = second.store.actions(pending.incident_id)
        assert [a.name for a in actions if a.status == "executed"] == ["rollback_model"]
        assert [a.id for a in second.store.approvals(incident_id=pending.incident_id)] == [pending.id]
        assert audit.verify(second.store).ok


def test_the_loop_carries_on_a_thread_whose_process_died_before_it_paused(home: Path, monkeypatch) -> None:
    from opsgraph.loop import ServiceLoop
    from opsgraph.runtime import Runtime
    from opsgraph.settings import Settings
    from tests.stubs.fleet import fast_scenario

    monkeypatch.setenv("OPSGRAPH_MEMORY", "0")
    scenario = fast_scenario(home.parent, "02_bad_model_deploy.yaml")
    with Runtime(Settings.from_env(), channels=[_DiesOnPost()]) as first:
        loop = ServiceLoop(first, scenario=scenario, interval_s=0)
        try:
            for _ in range(200):
                loop.step()
        except _ProcessDies:
            pass
        (pending,) = first.store.approvals(status="pending")
        assert first.waiting_on(pending.incident_id) == []
    with Runtime(Settings.from_env()) as second:  # the loop restarts; the decision came in through Slack
        approvals.decide(second.store, pending.id, user="alice", roles={"approver"}, approve=True,
                         now=datetime.now(UTC))
        report = ServiceLoop(second, scenario=scenario, interval_s=0).step()
        assert pending.incident_id in [r.incident_id for r in report.resumed]
        assert second.store.incident(pending.incident_id).status == "resolved"
        assert [a.name for a in second.store.actions(pending.incident_id) if a.status == "executed"] == [
            "rollback_model"]
