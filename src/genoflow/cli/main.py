"""Entry point: the one place where exceptions become a one-line message and an exit code."""

from __future__ import annotations

import errno
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer

from genoflow.errors import ExitCode, GenoflowError
from genoflow.redact import RedactingFilter, redact

try:  # typer >= 0.26 vendors its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, NoSuchOption
except ImportError:  # pragma: no cover - older typer on Python 3.10 uses click itself
    from click import ClickException  # type: ignore[assignment]
    from click.exceptions import NoArgsIsHelpError, NoSuchOption  # type: ignore[assignment]

# Global options that may stand anywhere on the command line: msgen users type
# `submit -f config.txt ...`, CI scripts append `--json` or `-o tsv` at the end.
_GLOBAL_FLAGS = frozenset({"--json", "-v", "--verbose", "-vv", "--debug", "-q", "--quiet"})
_GLOBAL_WITH_VALUE = frozenset({"-f", "--config", "--query"})
# -o/--output is the global output format only when its value is a format name: the sets do
# not overlap, so `list -o fail` stays msgen's outcome filter and `fetch 12 -o results/` the
# output directory.
_OUTPUT_FLAGS = frozenset({"-o", "--output"})

PROG = "genoflow"


def hoist_global_options(argv: Sequence[str]) -> list[str]:
    """Move global options found after the sub-command to the front, leaving the rest in order.

    Everything after a literal ``--`` is left alone.
    """
    front: list[str] = []
    rest: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            rest.extend(args[index:])
            break
        if token in _GLOBAL_FLAGS:
            front.append(token)
        elif index + 1 < len(args) and _takes_value(token, args[index + 1]):
            front.extend(args[index : index + 2])
            index += 1
        elif token.startswith(("--config=", "--query=")) or _is_output_equals(token):
            front.append(token)
        else:
            rest.append(token)
        index += 1
    return front + rest


def _takes_value(token: str, value: str) -> bool:
    return token in _GLOBAL_WITH_VALUE or (token in _OUTPUT_FLAGS and _is_format(value))


def _is_format(value: str) -> bool:
    from genoflow.cli.output import FORMATS

    return value.lower() in FORMATS


def _is_output_equals(token: str) -> bool:
    name, sep, value = token.partition("=")
    return bool(sep) and name in _OUTPUT_FLAGS and _is_format(value)


def configure_logging(verbose: int, debug: bool) -> None:
    """Handlers are configured here only: logs go to stderr, always through the redactor."""
    level = logging.DEBUG if debug or verbose >= 2 else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("genoflow")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    if debug:
        # The Azure SDK logs full request URLs (with SAS) at DEBUG: only through our redactor.
        for name in ("azure", "urllib3"):
            logging.getLogger(name).handlers[:] = [handler]
            logging.getLogger(name).setLevel(logging.DEBUG if verbose >= 3 else logging.INFO)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: sys.argv[1:]) and return the exit code."""
    from genoflow.cli.app import build_app

    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args[: len(args) - _count_rest(args)]
    command = build_app()
    if not args:  # bare `genoflow`: the help, on stdout, exit 0
        args = ["--help"]
    try:
        result = command.main(args=args, prog_name=PROG, standalone_mode=False)
        if result == ExitCode.INTERRUPTED:  # typer answers Ctrl-C (and SIGTERM) with 130, silently
            return _fail("interrupted", ExitCode.INTERRUPTED, debug)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except GenoflowError as exc:
        return _fail(exc.one_line(), exc.exit_code, debug)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return _fail("interrupted", ExitCode.INTERRUPTED, debug)
    except NoArgsIsHelpError as exc:  # `genoflow tier`: the group's help, on stdout
        sys.stdout.write(exc.format_message().rstrip("\n") + "\n")
        return ExitCode.OK
    except ClickException as exc:
        hint = _usage_hint(exc, command, args)
        message = _bad_output_format(exc, args) or f"{exc.format_message()}{hint}"
        return _fail(message, ExitCode.USAGE, debug)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.INTERRUPTED, debug)
    except BrokenPipeError:
        return ExitCode.OK
    except OSError as exc:
        if exc.errno == errno.ENOSPC:  # a full local disk, from any command: not a bug
            return _disk_full(exc, debug)
        if exc.filename is None:  # not a local path: a bug if it got this far
            return _internal_error(exc, debug)
        # A local path the user gave (an -o that is a file, a read-only directory...).
        return _fail(f"{exc.filename}: {exc.strerror or exc}", ExitCode.USAGE, debug)
    except Exception as exc:  # a bug: still one line unless --debug
        return _internal_error(exc, debug)


def _disk_full(exc: OSError, debug: bool) -> int:
    from genoflow.transfer import DiskFullError, NoSpaceError

    if isinstance(exc, DiskFullError):
        error = NoSpaceError.of(exc)
        return _fail(error.one_line(), error.exit_code, debug)
    where = f" in {exc.filename}" if exc.filename else ""
    return _fail(
        f"no space left on device{where} (free some space and run the same command again)",
        ExitCode.UNAVAILABLE,
        debug,
    )


def _internal_error(exc: BaseException, debug: bool) -> int:
    message = f"internal error: {type(exc).__name__}: {exc}"
    return _fail(
        message + ("" if debug else " (run with --debug for details)"), ExitCode.INTERNAL, debug
    )


def _count_rest(args: Sequence[str]) -> int:
    return len(args) - args.index("--") if "--" in args else 0


def _bad_output_format(exc: ClickException, args: Sequence[str]) -> str | None:
    """``cost -o xml``: -o stayed with a command that has no -o of its own because its value
    is not a format; say that, not "No such option: -o"."""
    name = getattr(exc, "option_name", None)
    if not isinstance(exc, NoSuchOption) or name not in _OUTPUT_FLAGS:
        return None
    from genoflow.cli.output import FORMATS

    formats = ", ".join(FORMATS)
    for index, token in enumerate(args):
        if token == name and index + 1 < len(args):
            return f"{name} {args[index + 1]!r} is not an output format (one of {formats})"
        if token.startswith(f"{name}="):
            return f"{name} {token.partition('=')[2]!r} is not an output format (one of {formats})"
    return f"{name} needs an output format (one of {formats})"


def _usage_hint(exc: ClickException, command: Any, args: Sequence[str]) -> str:
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.parent is not None:
        return f" (see '{ctx.command_path} --help')"
    # an option's missing value is raised without the sub-command's context: find it in argv
    path = [PROG]
    for token in args:
        sub = getattr(command, "commands", {}).get(token)
        if sub is not None:
            path.append(token)
            command = sub
    return f" (see '{' '.join(path)} --help')"


def _fail(message: str, code: int, debug: bool) -> int:
    if debug and sys.exc_info()[0] is not None:
        sys.stderr.write(redact(traceback.format_exc()))
    line = " ".join(redact(message).split())
    sys.stderr.write(f"{PROG}: error: {line}\n")
    return int(code)


def main() -> None:
    sys.exit(run())
