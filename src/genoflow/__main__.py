"""``python -m genoflow`` runs the CLI."""

from genoflow.cli.main import main

main()
