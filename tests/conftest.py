"""Test-wide settings: single-threaded OpenMP (small batches), no network, a fresh data directory per test."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
