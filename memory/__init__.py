"""OpsGraph memory layer."""
