"""No-fault controls never look like incidents: stable features, latency under SLO, steady accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from sim_measures import accuracy, ks_p, psi

from sims.scenario import BUNDLED, load_scenarios
from sims.world import SimWorld

# The phase-1 controls plus reseeded ones; test_sim_catalogue's slow sweep checks every control tick by tick.
CONTROLS = [s for s in load_scenarios(BUNDLED)[:8] if not s.ground_truth.incident_expected]
EXTRA_SEEDS = [CONTROLS[0].model_copy(update={"seed": seed, "name": f"reseeded-{seed}"}) for seed in (11, 12)]


@pytest.mark.parametrize("scenario", CONTROLS + EXTRA_SEEDS, ids=lambda s: s.name)
def test_control_stays_healthy_for_the_whole_run(scenario):
    w = SimWorld.from_scenario(scenario)
    names = [s.name for s in scenario.services]
    refs = {n: w.reference(n) for n in names}
    labelled = {n: ([], []) for n in names}
    while not w.done:
        w.advance(60)
        for n in names:
            ref, win = refs[n], w.window(n, 60)
            for j in range(ref.features.shape[1]):
                assert psi(ref.features[:, j], win.features[:, j]) < 0.2, (n, w.elapsed_min, j)
                assert psi(ref.features[:, j], win.features[:, j]) < 0.25 or ks_p(ref.features[:, j], win.features[:, j]) > 0.001
            assert psi(ref.predictions, win.predictions) < 0.2
            assert not np.isnan(win.features).any()
            assert win.metrics["p95_ms"].max() < scenario.service(n).slo_p95_ms
            assert win.errors / win.requests < 0.02
            assert win.metrics["utilization"].max() <= 0.7
            recent = w.window(n, 120)
            assert accuracy(ref.predictions, ref.labels) - accuracy(recent.labelled_predictions, recent.labels) < 0.05
            rows = w.rows(n, 60)
            labelled[n][0].append(rows["pred"])
            labelled[n][1].append(rows["y"])
    for n in names:
        whole = accuracy(np.concatenate(labelled[n][0]), np.concatenate(labelled[n][1]))
        assert abs(whole - accuracy(refs[n].predictions, refs[n].labels)) < 0.04, n
