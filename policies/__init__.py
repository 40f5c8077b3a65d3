"""OpsGraph policies layer."""
