"""genoflow.storage."""
