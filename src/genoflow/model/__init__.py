"""genoflow.model."""
