"""The autonomous loop: ticks, opens incidents, resumes approvals decided elsewhere, expires, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opsgraph.loop import STATE_FILE, ServiceLoop
from opsgraph.runtime import Runtime
from policies import approvals, audit
from policies.roles import RoleBook
from tests.stubs.fleet import fast_scenario, pending_loop, step_until
from tests.stubs.servers import free_port


def test_loop_opens_an_incident_and_publishes_the_fleet(runtime: Runtime, tmp_path: Path) -> None:
    loop = ServiceLoop(runtime, scenario=fast_scenario(tmp_path, "03_latency_saturation.yaml"), interval_s=0)
    step_until(loop, lambda: any(i.status == "resolved" for i in runtime.store.incidents()))
    assert {s.name for s in runtime.store.services()} == {"fraud-api", "credit-score"}
    assert all(s.source_id == loop.world.world_id for s in runtime.store.services())
    assert audit.verify(runtime.store).ok


def test_decision_recorded_elsewhere_is_resumed_by_the_loop(runtime: Runtime, tmp_path: Path) -> None:
    loop = pending_loop(runtime, tmp_path)
    row = runtime.store.approvals(status="pending")[0]
    # another channel (API, chat, Slack) only records the decision
    approvals.decide(runtime.store, row.id, user="alice", roles={"approver"}, approve=True, now=datetime.now(UTC))
    assert runtime.store.incident(row.incident_id).status == "awaiting_approval"
    report = loop.step()
    assert [r.incident_id for r in report.resumed] == [row.incident_id]
    incident = runtime.store.incident(row.incident_id)
    assert incident.status == "resolved", incident.summary
    assert [a.status for a in runtime.store.actions(incident.id) if a.name == "retrain_model"] == ["executed"]
    assert loop.step().resumed == []  # resumed once


def test_denied_approval_escalates(runtime: Runtime, tmp_path: Path) -> None:
    loop = pending_loop(runtime, tmp_path)
    row = runtime.store.approvals(status="pending")[0]
    approvals.decide(runtime.store, row.id, user="alice", roles={"admin"}, approve=False, now=datetime.now(UTC))
    loop.step()
    assert runtime.store.incident(row.incident_id).status == "escalated"


def test_stale_approval_expires_and_the_incident_escalates(runtime: Runtime, tmp_path: Path) -> None:
    loop = pending_loop(runtime, tmp_path)
    row = runtime.store.approvals(status="pending")[0]
    with runtime.store.session() as session:
        session.get(type(row), row.id).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    report = loop.step()
    assert report.expired == [row.id]
    assert runtime.store.approval(row.id).status == "expired"
    assert runtime.store.incident(row.incident_id).status == "escalated"


def test_revoked_approver_is_refused_when_the_action_would_run(runtime: Runtime, tmp_path: Path) -> None:
    book = {"value": RoleBook(users={"bob": ["approver"]})}
    loop = pending_loop(runtime, tmp_path, rolebook=lambda: book["value"])
    row = runtime.store.approvals(status="pending")[0]
    approvals.decide(runtime.store, row.id, user="bob", roles={"approver"}, approve=True, now=datetime.now(UTC))
    book["value"] = RoleBook(users={"bob": ["viewer"]})  # bob lost the role before the loop resumed
    loop.step()
    action = runtime.store.action(row.action_id)
    assert action.status != "executed"
    kinds = [e.kind for e in runtime.store.audit_entries(row.incident_id)]
    assert "action.refused" in kinds
    assert runtime.store.incident(row.incident_id).status == "escalated"


def test_restart_reloads_the_same_world(runtime: Runtime, tmp_path: Path) -> None:
    scenario = fast_scenario(tmp_path)
    first = ServiceLoop(runtime, scenario=scenario, interval_s=0)
    first.run(max_steps=3)
    state = json.loads((runtime.settings.home / STATE_FILE).read_text())
    again = ServiceLoop(runtime, scenario=scenario, interval_s=0)
    assert again.world.world_id == state["world_id"] == first.world.world_id
    assert again.world.elapsed_min == first.world.elapsed_min == 15.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSGRAPH_")}
    env.update(OPSGRAPH_HOME=str(home), OPSGRAPH_USER="alice", OPSGRAPH_MEMORY="0")
    return env


def test_sigterm_finishes_the_step_saves_the_world_and_exits_zero(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "opsgraph.cli", "run", "--interval", "0.05", "--port", str(port),
                             "--scenario", str(fast_scenario(tmp_path))], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        import httpx

        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        time.sleep(0.5)  # a few steps
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = [e["event"] for e in events]
    assert "loop.started" in names and "signal.received" in names and "loop.stopped" in names, names
    stopped = next(e for e in events if e["event"] == "loop.stopped")
    assert stopped["steps"] >= 1
    state = json.loads((home / STATE_FILE).read_text())
    assert (home / "worlds" / f"{state['world_id']}.pkl").exists()
