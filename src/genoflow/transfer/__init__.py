"""genoflow.transfer."""
