"""Fixtures for end-to-end tests: a runtime on a fresh data directory, scenario paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsgraph.runtime import Runtime
from opsgraph.settings import Settings
from sims.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "sims" / "scenarios"


def scenario(prefix: str) -> Scenario:
    """The shipped scenario whose file name starts with ``prefix``."""
    matches = sorted(SCENARIOS.glob(f"{prefix}*.yaml"))
    assert matches, f"no scenario {prefix}* in {SCENARIOS}"
    return load_scenario(matches[0])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh OPSGRAPH_HOME for this test."""
    path = tmp_path / "home"
    monkeypatch.setenv("OPSGRAPH_HOME", str(path))
    monkeypatch.setenv("OPSGRAPH_USER", "alice")
    monkeypatch.delenv("OPSGRAPH_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def runtime(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A runtime without vector memory (memory has its own tests and one end-to-end test)."""
    monkeypatch.setenv("OPSGRAPH_MEMORY", "0")
    with Runtime(Settings.from_env()) as rt:
        yield rt
