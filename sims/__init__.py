"""OpsGraph sims layer."""
