"""Smoke tests for bench.peers: the sections run and print their tables (peers optional)."""

from __future__ import annotations

import numpy as np

from bench import peers
from tools.changepoint import PageHinkley


def test_estimation_section_prints_a_row_per_shift(capsys):
    peers.estimation()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| Beta")]
    assert len(rows) == 5
    assert all(float(row.split("|")[4]) < 0.03 for row in rows)  # estimation error column


def test_run_reports_hits_and_time():
    hits, seconds = peers._run(PageHinkley, np.r_[np.zeros(100), np.full(10, 5.0)])
    assert hits == [100] and seconds >= 0
