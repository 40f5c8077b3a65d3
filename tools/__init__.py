"""OpsGraph tools layer."""
