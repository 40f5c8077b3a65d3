"""Test-wide settings: single-threaded OpenMP (small batches), no network, a fresh data directory per test."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import settings  # noqa: E402

# CI runs the same examples every time (a red CI must mean a regression, not a lucky draw);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
