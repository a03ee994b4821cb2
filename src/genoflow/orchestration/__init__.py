"""Orchestration: the library functions the CLI calls (upload, submit, wait, fetch, checks)."""
