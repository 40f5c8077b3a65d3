"""OpsGraph application shell: settings, CLI, runtime wiring, demo, server and integrations."""

import os

# Small scikit-learn batches (a few hundred rows per tick) run far slower with OpenMP thread
# teams than on one thread, and on a busy 2-core box spinning threads starve each other.
os.environ.setdefault("OMP_NUM_THREADS", "1")
