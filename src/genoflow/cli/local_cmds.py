"""``genoflow local up|down|status`` and ``genoflow demo data|run``.

Heavy imports (psutil, the simulator, the server's reference code) stay inside the bodies.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from genoflow.cli.output import Column, View
from genoflow.cli.state import state_of

if TYPE_CHECKING:
    from genoflow.local import LocalStack, StackStatus

local_app = typer.Typer(
    help="Start/stop the local stack: Azurite (standing in for Azure Blob) and 'genoflow "
    "server', in the background under ./.genoflow, with ./genoflow.yaml pointing at them.\n\n"
    "Examples:\n\n  genoflow local up\n\n  genoflow local status\n\n  genoflow local down",
    no_args_is_help=True,
)
demo_app = typer.Typer(
    help="The demo: a simulated sample with a truth VCF, and the main job run on it locally.\n\n"
    "Examples:\n\n  genoflow demo run\n\n  genoflow demo data --dir demo-data --read-pairs 500000",
    no_args_is_help=True,
)

STACK_DIR = typer.Option(Path(".genoflow"), "--dir", help="Where the stack keeps its state.")
CONFIG_OUT = typer.Option(
    Path("genoflow.yaml"), "--config-out", help="The client config 'local up' writes."
)


def _stack(stack_dir: Path, config_out: Path) -> LocalStack:
    from genoflow.local import LocalStack

    return LocalStack(stack_dir, config_out)


STATUS_VIEW = View(
    columns=(
        Column("name", "service"),
        Column("state"),
        Column("url"),
        Column("pid"),
    ),
    rows="services",
)


def _status_record(status: StackStatus, **extra: Any) -> dict[str, Any]:
    """schemas/local-status: each service with a ``state`` people read (up, not answering,
    down) beside the raw fields."""
    data = status.to_dict()
    services = [{**service, "state": _state_word(service)} for service in data.get("services", [])]
    return {**extra, **data, "services": services}


def _state_word(service: dict[str, Any]) -> str:
    if service.get("healthy"):
        return "up"
    return "not answering" if service.get("running") else "down"


@local_app.command("up")
def up(
    ctx: typer.Context,
    stack_dir: Path = STACK_DIR,
    config_out: Path = CONFIG_OUT,
    azurite_port: Optional[int] = typer.Option(None, "--azurite-port", help="[a free port]"),  # noqa: UP045
    server_port: Optional[int] = typer.Option(None, "--server-port", help="[a free port]"),  # noqa: UP045
    threads: Optional[int] = typer.Option(None, "--threads", help="Per run [all CPUs]."),  # noqa: UP045
) -> None:
    """Start Azurite and the server (idempotent: an already running stack is left alone).

    \b
    Examples:
      genoflow local up
      genoflow local up --server-port 8080 --threads 4
    """
    state = state_of(ctx)
    stack = _stack(stack_dir, config_out)
    result = stack.up(azurite_port=azurite_port, server_port=server_port, threads=threads)
    state.info("local stack " + ("already up" if result.already_up else "started"))
    state.render(_status_record(result.status, already_up=result.already_up), STATUS_VIEW)
    state.info(f"client config: {stack.config_file} (used by genoflow commands run here)")
    state.info("stop it with: genoflow local down")


@local_app.command("status")
def status(ctx: typer.Context, stack_dir: Path = STACK_DIR, config_out: Path = CONFIG_OUT) -> None:
    """Both services, their URLs and health. Exit 0 when both answer, 6 otherwise.

    \b
    Examples:
      genoflow local status
      genoflow local status -o json --query "services[?state!='up'].name"
    """
    from genoflow.errors import ExitCode

    state = state_of(ctx)
    current = _stack(stack_dir, config_out).status()
    state.render(_status_record(current), STATUS_VIEW)
    if not current.up:
        raise typer.Exit(int(ExitCode.UNAVAILABLE))


@local_app.command("down")
def down(ctx: typer.Context, stack_dir: Path = STACK_DIR, config_out: Path = CONFIG_OUT) -> None:
    """Stop the server (and its pipeline processes), then Azurite. Data is kept.

    \b
    Example:
      genoflow local down
    """
    state = state_of(ctx)
    result = _stack(stack_dir, config_out).down()
    if result.stopped:
        state.info(f"stopped: {', '.join(result.stopped)} (data kept in {stack_dir})")
    else:
        state.info("local stack was not running")
    state.render({"stopped": list(result.stopped)}, View(columns=(Column("stopped"),)))


@demo_app.command("data")
def data(
    ctx: typer.Context,
    directory: Path = typer.Option(Path(".genoflow/demo"), "--dir", help="Where to write."),
    read_pairs: Optional[int] = typer.Option(  # noqa: UP045
        None, "--read-pairs", min=100, help="Read pairs [~30x of a 300 kb reference: 30000]."
    ),
    seed: int = typer.Option(1, "--seed", help="Same seed, same bytes."),
) -> None:
    """Write reference.fa, DEMO_1/2.fq.gz and truth.vcf.gz (reused when already there).

    \b
    Examples:
      genoflow demo data
      genoflow demo data --dir demo-data --read-pairs 500000 --seed 7
    """
    from genoflow.local.demo import demo_data

    state = state_of(ctx)
    dataset, reused = demo_data(directory, read_pairs=read_pairs, seed=seed, info=state.info)
    state.info(
        f"demo dataset {'reused' if reused else 'written'}: {dataset.read_pairs} read "
        f"pairs, truth {dataset.snvs} SNVs + {dataset.indels} indels"
    )
    record = {
        "reused": reused,
        "reference": str(dataset.reference),
        "fastq_r1": str(dataset.fastq_r1),
        "fastq_r2": str(dataset.fastq_r2),
        "truth_vcf": str(dataset.truth_vcf),
        "read_pairs": dataset.read_pairs,
        "snvs": dataset.snvs,
        "indels": dataset.indels,
    }
    state.render(record)


@demo_app.command("run")
def run(
    ctx: typer.Context,
    stack_dir: Path = STACK_DIR,
    config_out: Path = CONFIG_OUT,
    force: bool = typer.Option(False, "--force", help="Submit a new run even if one exists."),
    read_pairs: Optional[int] = typer.Option(  # noqa: UP045
        None, "--read-pairs", min=100, metavar="N", help="Read pairs to simulate [30000]."
    ),
) -> None:
    """The main job on this machine: local up, demo data, submit --wait, fetch, score, tier
    plan, summary. Leaves the stack running.

    \b
    Examples:
      genoflow demo run
      genoflow demo run --force -o json
    """
    from genoflow.local.demo import format_summary, run_demo

    state = state_of(ctx)
    stack = _stack(stack_dir, config_out)
    summary = run_demo(stack, force=force, read_pairs=read_pairs, info=state.info)
    if state.output == "table" and not state.query:
        sys.stdout.write(format_summary(summary, stack) + "\n")
    else:
        state.render(summary.to_dict())


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
    app.add_typer(demo_app, name="demo")
