"""OpsGraph opsgraph layer."""
