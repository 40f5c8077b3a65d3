"""Smoke tests for bench.peers: the sections run and print their tables (peers optional)."""

from __future__ import annotations

import numpy as np
import pytest

from bench import peers
from tools.changepoint import PageHinkley
from tools.estimation import estimate_performance


def test_estimation_section_prints_a_row_per_shift(capsys):
    peers.estimation()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| Beta")]
    assert len(rows) == 5
    assert all(float(row.split("|")[4]) < 0.03 for row in rows)  # estimation error column


def test_run_reports_hits_and_time():
    hits, seconds = peers._run(PageHinkley, np.r_[np.zeros(100), np.full(10, 5.0)])
    assert hits == [100] and seconds >= 0


def test_estimation_without_nannyml_says_how_to_install(capsys, monkeypatch):
    monkeypatch.setattr(peers, "_have", lambda module: module != "nannyml")
    peers.estimation()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| Beta")]
    assert all("make bench-deps" in row for row in rows)


def test_nannyml_cbpe_agrees_with_ours_when_installed():
    pytest.importorskip("nannyml")
    rng = np.random.default_rng(2)
    ref_s = rng.random(5000)
    ref_y = (rng.random(5000) < ref_s**2).astype(int)
    cases = peers._estimation_cases(rng, 2000)
    nanny = peers.nannyml_cbpe(ref_y, ref_s, cases)
    assert nanny is not None and len(nanny) == len(cases)
    for (s, y), (estimated, realised) in zip(cases, nanny, strict=True):
        ours = estimate_performance(ref_y, ref_s, s, current_labels=y).figures
        assert realised == pytest.approx(ours["realised_accuracy"], abs=1e-12)
        assert abs(estimated - realised) < 0.03
