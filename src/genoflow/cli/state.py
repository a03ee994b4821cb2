"""Per-invocation CLI state: the global options, the output channels and the loaded settings."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from genoflow.cli.output import View
    from genoflow.config import Settings
    from genoflow.protocols.base import ServiceClient
    from genoflow.transfer.progress import FileProgress


@dataclass
class CliState:
    config_file: str | None = None
    json: bool = False  # -o json or jsonc: a machine reads stdout
    verbose: int = 0
    debug: bool = False
    output: str = "table"  # -o/--output: see genoflow.cli.output.FORMATS
    output_chosen: bool = False  # -o, --json or GENOFLOW_OUTPUT said it (else the default)
    output_flag: bool = False  # -o FORMAT or --json on this command line (not the variable)
    query: str | None = None  # --query: JMESPath over the document
    quiet: bool = False  # --quiet: no notices on stderr (errors still)
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self, overrides: Mapping[str, tuple[Any, str]] | None = None) -> Settings:
        """Load the effective configuration once (flags given here take precedence)."""
        if self._settings is None or overrides:
            from genoflow.config import load_settings

            self._settings = load_settings(self.config_file, overrides=overrides)
        return self._settings

    # --- output: data on stdout, everything for people on stderr -------------------------------
    def err(self) -> Console:
        from rich.console import Console

        return Console(file=sys.stderr, soft_wrap=True, highlight=False, markup=False)

    def render(self, doc: Any, view: View | None = None) -> None:
        """The command's one document on stdout, as -o/--output and --query say."""
        from genoflow.cli.output import Target, render

        stream = sys.stdout
        render(doc, Target(stream, stream.isatty(), self.output, self.query), view)

    @contextmanager
    def progress(
        self, verb: str, settings: Settings
    ) -> Iterator[Callable[[str, int], FileProgress]]:
        """Yields ``tracker_for(label, size)``, each file's progress tracker
        (genoflow.transfer.progress): rich bars on a terminal, a status line per file every
        storage.progress_interval seconds elsewhere, nothing with --quiet; after Ctrl-C, how
        to resume."""
        from genoflow.transfer.progress import TransferReporter, choose_mode

        reporter = TransferReporter(
            verb,
            mode=choose_mode(quiet=self.quiet),
            interval=settings.config.storage.progress_interval,
        )
        with reporter.running():
            yield reporter.file

    def as_it_is(self, what: str, *, to_file: bool = False) -> None:
        """For a command that prints another tool's file (CWL, Azure's policy JSON): an -o
        format or --query on its command line would be ignored, so it is refused instead
        (GENOFLOW_OUTPUT, a default for every command, is not)."""
        from genoflow.errors import UsageError

        if self.query is not None or self.output_flag:
            flag = "--query" if self.query is not None else f"-o {self.output}"
            raise UsageError(
                f"{flag} does not apply: this command prints {what} as it is",
                hint="leave out -o FORMAT, --json and --query; "
                + ("-o FILE writes it to FILE" if to_file else "redirect stdout to keep it"),
            )

    def info(self, message: str) -> None:
        """A line for people, on stderr (progress and notices; --quiet silences them)."""
        from genoflow.redact import redact

        if not self.quiet:
            sys.stderr.write(redact(message) + "\n")


def state_of(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def service_client(settings: Settings, flag: str | None = None) -> ServiceClient:
    """The configured service's client; when service.url is unset, the error names only ways
    this command offers (``flag``: its own option, if it has one)."""
    from genoflow.protocols import open_client

    settings.require("service.url", flag=flag)
    return open_client(settings.config.service)
