"""genoflow.protocols."""
