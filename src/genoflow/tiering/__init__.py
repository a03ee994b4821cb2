"""genoflow.tiering."""
