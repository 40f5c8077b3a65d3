"""The world as a MetricSource: warm history, windows, events, state, and persistence."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
from sim_measures import run_until, world

from sims.scenario import load_scenario, BUNDLED
from sims.world import WARMUP_MIN, SimWorld
from tools.actions import PlannedAction

METRICS = {"p95_ms", "rps", "error_rate", "gpu_util", "cpu_util", "mem_util", "utilization", "replicas"}
ROOT = Path(__file__).resolve().parents[2]


def test_windows_are_full_from_the_start():
    w = world("05_control_quiet_night.yaml")
    assert WARMUP_MIN >= 180 and w.elapsed_min == 0 and not w.done
    assert w.now() == w.scenario.start and w.now().tzinfo is not None
    win = w.window("fraud-api", 180)
    assert METRICS <= set(win.metrics)
    assert len(win.metrics["p95_ms"]) == 36
    n = len(win.predictions)
    assert win.features.shape == (n, 6) and win.latency_ms.shape == (n,) and n >= 36 * 40
    assert win.start == w.now() - timedelta(minutes=180) and win.end == w.now()
    assert 0 < len(win.labels) == len(win.labelled_predictions) < n
    assert win.requests > n and 0 <= win.errors < win.requests * 0.02
    assert np.all((win.predictions >= 0) & (win.predictions <= 1))


def test_labels_mature_after_the_label_delay():
    w = world("05_control_quiet_night.yaml")
    assert len(w.window("fraud-api", 30).labels) == 0
    assert len(w.window("fraud-api", 35).labels) > 0
    rows = w.rows("fraud-api", 60)
    matured = rows["t"] + 30 <= w.elapsed_min
    win = w.window("fraud-api", 60)
    np.testing.assert_array_equal(win.labels, rows["y"][matured])


def test_services_reference_state_and_done():
    w = world("03_latency_saturation.yaml")
    infos = {s.name: s for s in w.services()}
    assert infos["fraud-api"].kind == "fraud" and infos["fraud-api"].max_replicas == 12
    assert infos["fraud-api"].model_version == "v1" and infos["fraud-api"].pipeline == "fraud-api.pipeline"
    ref = w.reference("credit-score")
    assert ref.features.shape == (4000, 6) and ref.predictions.shape == ref.labels.shape == (4000,)
    assert np.percentile(ref.latency_ms, 95) < infos["credit-score"].slo_p95_ms
    state = w.state("fraud-api")
    assert state["replicas"] == 2 and state["model_version"] == "v1" and state["pipeline_healthy"]
    run_until(w, 480)
    assert w.done and w.elapsed_min == 480
    assert [f["component"] for f in w.active_faults()] == ["fraud-api.serving"]


def test_long_runs_stay_bounded():
    scenario = load_scenario(BUNDLED / "01_data_drift.yaml")
    services = [*scenario.services, scenario.services[0].model_copy(update={"name": "fraud-b"})]
    w = SimWorld.from_scenario(scenario.model_copy(update={"services": services, "duration_min": 720}))
    w.advance(720 + 24 * 60)
    assert len(w._svc("fraud-b").ticks) <= 24 * 60 / 5 + 1
    assert w.window("fraud-b", 10_000).start == w.now() - timedelta(hours=24)


def test_save_and_load_in_another_process(tmp_path):
    w = run_until(world("02_bad_model_deploy.yaml"), 150)
    path = tmp_path / "world.pkl"
    w.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["world.pkl"]  # no temp file left behind
    script = textwrap.dedent(
        f"""
        from sims.world import SimWorld
        from tools.actions import PlannedAction
        w = SimWorld.load({str(path)!r})
        r = w.execute(PlannedAction(action_id="act-restart-1", name="rollback_model", service="credit-score"))
        assert r.after["model_version"] == "v1", r
        w.advance(5)
        w.save({str(path)!r})
        print(w.world_id, w.elapsed_min)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [w.world_id, "155.0"]
    back = SimWorld.load(path)
    assert back.state("credit-score")["model_version"] == "v1"
    again = back.execute(PlannedAction(action_id="act-restart-1", name="rollback_model", service="credit-score"))
    assert again.after["model_version"] == "v1"  # idempotent across processes
    assert [e.kind for e in back.events("credit-score", back.scenario.start)] == ["deploy", "rollback"]


def test_events_since_filters_by_time():
    w = run_until(world("02_bad_model_deploy.yaml"), 130)
    assert len(w.events("credit-score", w.scenario.start)) == 1
    assert w.events("credit-score", w.now()) == []
    assert w.events("fraud-api", w.scenario.start.astimezone(UTC)) == []
