"""``genoflow config init|show|check``."""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import typer

from genoflow.cli.output import Column, View
from genoflow.cli.state import state_of
from genoflow.errors import ConfigError, ExitCode, GenoflowError
from genoflow.redact import mask

app = typer.Typer(help="Create, show and check the configuration.", no_args_is_help=True)


def example_config_text() -> str:
    return resources.files("genoflow.config").joinpath("example.yaml").read_text("utf-8")


@app.command("init")
def init(
    ctx: typer.Context,
    path: Optional[Path] = typer.Argument(  # noqa: UP045
        None, help="Where to write (default: ./genoflow.yaml; --user: the user config dir)."
    ),
    user: bool = typer.Option(False, "--user", help="Write to the user config dir."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write a commented starter config file (mode 0600: it may hold secrets).

    \b
    Examples:
      genoflow config init
      genoflow config init --user --force
    """
    from genoflow.config.loader import LOCAL_CONFIG_NAME, user_config_path

    target = path or (user_config_path() if user else Path(LOCAL_CONFIG_NAME))
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists", hint="pass --force to replace it")
    write_private_file(target, example_config_text())
    state = state_of(ctx)
    state.info(f"wrote {target} (mode 0600); edit it, then run 'genoflow config check'")
    state.render({"written": str(target)}, View(columns=(Column("written"),)))


def write_private_file(target: Path, text: str) -> None:
    """Write atomically with mode 0600 from the first byte (never world-readable, even briefly)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print the effective configuration, where each value came from; secrets masked.

    \b
    Examples:
      genoflow config show
      genoflow config show -o tsv --query "settings[?key=='service.url'].value | [0]"
    """
    from genoflow.config import SECRET_KEYS

    state = state_of(ctx)
    settings = state.settings()
    rows = [
        (key, mask(value) if key in SECRET_KEYS else value, source)
        for key, value, source in settings.items()
    ]
    state.info(f"config file: {settings.file or '(none found; defaults and environment only)'}")
    document = {
        "file": str(settings.file) if settings.file else None,
        "settings": [{"key": key, "value": value, "source": source} for key, value, source in rows],
    }
    view = View(
        columns=(Column("key"), Column("value", show=_show_value), Column("source")),
        rows="settings",
    )
    state.render(document, view)


def _show_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(str(item) for item in value) or "[]"
    return str(value)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Test connectivity to storage and to the service, one line per check.

    Exits 0 when every check passes, else with the code of the worst failure
    (7 credentials refused, 6 unreachable, 2 not configured).

    \b
    Examples:
      genoflow config check
      genoflow config check -o json --query "[?!ok].check"
    """
    from genoflow.orchestration.checks import run_checks

    state = state_of(ctx)
    results = run_checks(state.settings())
    view = View(
        columns=(
            Column("check"),
            Column("ok", "result", lambda ok: "ok" if ok else "FAILED"),
            Column("detail"),
        )
    )
    state.render([result.as_dict() for result in results], view)
    worst = ExitCode.OK
    for result in results:
        if result.error is not None and result.error.exit_code > worst:
            worst = result.error.exit_code
    if worst != ExitCode.OK:
        raise typer.Exit(int(worst))


__all__ = ["GenoflowError", "app"]
