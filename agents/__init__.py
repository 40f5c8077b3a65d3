"""OpsGraph agents layer."""
