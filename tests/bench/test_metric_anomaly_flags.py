"""The metric-anomaly flag bench: a saturation is flagged after its start, a quiet control never."""

from __future__ import annotations

from bench.metric_anomaly_flags import flags, main
from sims.scenario import BUNDLED, load_scenario


def test_a_saturation_is_flagged_after_it_starts_and_a_control_stays_quiet():
    saturation = load_scenario(BUNDLED / "03_latency_saturation.yaml")
    raw, found = flags(saturation, 0.97, 15.0)
    start = saturation.faults[0].start_min
    assert found and min(found) >= start and min(raw) >= start
    assert flags(load_scenario(BUNDLED / "05_control_quiet_night.yaml"), 0.97, 15.0) == ([], [])


def test_the_table_has_a_row_per_threshold(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text((BUNDLED / "05_control_quiet_night.yaml").read_text())
    main(["--scenarios", str(tmp_path), "--thresholds", "0.9", "0.97", "--every", "30"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 0.9")]
    assert len(rows) == 2 and rows[1] == "| 0.97 | 0 / 0 | 0 / 0 of 0 | nan |"
