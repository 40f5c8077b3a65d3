"""OpsGraph bench layer."""
