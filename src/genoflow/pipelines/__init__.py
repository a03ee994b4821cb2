"""genoflow.pipelines."""
