"""Command lines for the workflow engines: cwltool (default) and Toil's toil-cwl-runner.

genoflow writes no engine of its own: the server runs one of these commands in its own process
group, reads the JSON output object from stdout (see ``collect_outputs``) and the engine log
from stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from genoflow.errors import ConfigError, UsageError

Engine = Literal["cwltool", "toil"]
TOIL_REQUIREMENT = "toil[cwl]"


def engine_command(
    engine: Engine,
    workflow: Path | str,
    job: Path,
    outdir: Path,
    workdir: Path,
    extra_args: Sequence[str] = (),
    *,
    containers: bool = False,
    executable: str | None = None,
) -> list[str]:
    """The engine's command line; temporary files all go under ``workdir``.

    ``containers`` False runs the tools from PATH (``--no-container``); True lets the engine use
    the CWL container hints. ``extra_args`` (from server config) come before the workflow, so
    they may override the defaults, e.g. ``--batchSystem slurm`` for Toil. ``executable``
    overrides the engine program (default: cwltool from this Python, toil-cwl-runner on PATH).
    ``workflow`` may name an entry point of the packed document (``<path>#analysis``).
    """
    if engine == "cwltool":
        command = _cwltool(outdir, workdir, executable)
    elif engine == "toil":
        command = _toil(outdir, workdir, executable, extra_args)
    else:
        raise UsageError(f"unknown workflow engine {engine!r}: use cwltool or toil")
    if not containers:
        command.append("--no-container")
    return [*command, *extra_args, str(workflow), str(job)]


def _cwltool(outdir: Path, workdir: Path, executable: str | None) -> list[str]:
    return [
        *_cwltool_program(executable),
        "--outdir", str(outdir),
        "--tmpdir-prefix", f"{workdir / 'tmp'}/",
        "--tmp-outdir-prefix", f"{workdir / 'steps'}/",
        "--no-compute-checksum",  # sha1 of every output costs minutes on whole-genome BAMs
        "--disable-color",
        "--parallel",  # shards run side by side, as many as the cores their tools ask for allow
    ]  # fmt: skip


def _cwltool_program(executable: str | None) -> list[str]:
    if executable:
        return [executable]
    script = Path(sys.executable).with_name("cwltool")
    if script.is_file():
        return [str(script)]
    # not `python -m cwltool`: that entry point exits 0 even when the workflow failed
    return [sys.executable, "-c", "import sys; from cwltool.main import main; sys.exit(main())"]


def _toil(
    outdir: Path, workdir: Path, executable: str | None, extra_args: Sequence[str]
) -> list[str]:
    program = executable or shutil.which("toil-cwl-runner")
    if program is None:
        raise ConfigError(
            "the Toil engine is configured but toil-cwl-runner is not installed",
            hint=f"install '{TOIL_REQUIREMENT}' or set the engine's executable in the config",
        )
    command = [
        program,
        "--jobStore", str(workdir / "jobstore"),
        "--workDir", str(workdir),
        "--outdir", str(outdir),
        "--tmpdir-prefix", f"{workdir / 'tmp'}/",
        "--tmp-outdir-prefix", f"{workdir / 'steps'}/",
        "--no-compute-checksum",
        "--clean", "always",
        "--disableProgress",
    ]  # fmt: skip
    if not any(arg.startswith("--batchSystem") for arg in extra_args):
        command += ["--batchSystem", "single_machine"]
    return command


def engine_environment(
    command: Sequence[str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment to run ``command`` in: its program's directory first on PATH.

    Toil starts its workers as ``_toil_worker`` found on PATH, so a toil-cwl-runner installed
    in its own virtualenv fails without this; cwltool finds node and the tools the same way.
    """
    environment = dict(os.environ if base is None else base)
    program_dir = str(Path(command[0]).parent)
    if program_dir not in (".", ""):
        environment["PATH"] = os.pathsep.join(
            [program_dir, *filter(None, environment.get("PATH", "").split(os.pathsep))]
        )
    return environment
