"""``genoflow local up|down|status`` and ``genoflow demo data|run``.

Heavy imports (psutil, the simulator, the server's reference code) stay inside the bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from genoflow.cli.state import CliState, state_of

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


def _print_status(state: CliState, status: StackStatus) -> None:
    state.table(
        ("service", "state", "url", "pid"),
        [
            (
                s.name,
                "up" if s.healthy else "not answering" if s.running else "down",
                s.url or "",
                s.pid or "",
            )
            for s in status.services
        ],
    )


@local_app.command("up")
def up(
    ctx: typer.Context,
    stack_dir: Path = STACK_DIR,
    config_out: Path = CONFIG_OUT,
    azurite_port: Optional[int] = typer.Option(None, "--azurite-port", help="[a free port]"),  # noqa: UP045
    server_port: Optional[int] = typer.Option(None, "--server-port", help="[a free port]"),  # noqa: UP045
    threads: Optional[int] = typer.Option(None, "--threads", help="Per run [all CPUs]."),  # noqa: UP045
) -> None:
    """Start Azurite and the server (idempotent: an already running stack is left alone)."""
    state = state_of(ctx)
    stack = _stack(stack_dir, config_out)
    result = stack.up(azurite_port=azurite_port, server_port=server_port, threads=threads)
    if state.json:
        state.emit_json({"already_up": result.already_up, **result.status.to_dict()})
        return
    state.info("local stack " + ("already up" if result.already_up else "started"))
    _print_status(state, result.status)
    state.info(f"client config: {stack.config_file} (used by genoflow commands run here)")
    state.info("stop it with: genoflow local down")


@local_app.command("status")
def status(ctx: typer.Context, stack_dir: Path = STACK_DIR, config_out: Path = CONFIG_OUT) -> None:
    """Both services, their URLs and health. Exit 0 when both answer, 6 otherwise."""
    from genoflow.errors import ExitCode

    state = state_of(ctx)
    current = _stack(stack_dir, config_out).status()
    if state.json:
        state.emit_json(current.to_dict())
    else:
        _print_status(state, current)
    if not current.up:
        raise typer.Exit(int(ExitCode.UNAVAILABLE))


@local_app.command("down")
def down(ctx: typer.Context, stack_dir: Path = STACK_DIR, config_out: Path = CONFIG_OUT) -> None:
    """Stop the server (and its pipeline processes), then Azurite. Data is kept."""
    state = state_of(ctx)
    result = _stack(stack_dir, config_out).down()
    if state.json:
        state.emit_json({"stopped": result.stopped})
    elif result.stopped:
        state.info(f"stopped: {', '.join(result.stopped)} (data kept in {stack_dir})")
    else:
        state.info("local stack was not running")


@demo_app.command("data")
def data(
    ctx: typer.Context,
    directory: Path = typer.Option(Path(".genoflow/demo"), "--dir", help="Where to write."),
    read_pairs: Optional[int] = typer.Option(  # noqa: UP045
        None, "--read-pairs", min=100, help="Read pairs [~30x of a 300 kb reference: 30000]."
    ),
    seed: int = typer.Option(1, "--seed", help="Same seed, same bytes."),
) -> None:
    """Write reference.fa, DEMO_1/2.fq.gz and truth.vcf.gz (reused when already there)."""
    from genoflow.local.demo import demo_data

    state = state_of(ctx)
    dataset, reused = demo_data(directory, read_pairs=read_pairs, seed=seed, info=state.info)
    if state.json:
        state.emit_json(
            {
                "reused": reused,
                "reference": str(dataset.reference),
                "fastq_r1": str(dataset.fastq_r1),
                "fastq_r2": str(dataset.fastq_r2),
                "truth_vcf": str(dataset.truth_vcf),
                "read_pairs": dataset.read_pairs,
                "snvs": dataset.snvs,
                "indels": dataset.indels,
            }
        )
        return
    state.info(
        f"demo dataset {'reused' if reused else 'written'}: {dataset.read_pairs} read "
        f"pairs, truth {dataset.snvs} SNVs + {dataset.indels} indels"
    )
    for path in (dataset.reference, dataset.fastq_r1, dataset.fastq_r2, dataset.truth_vcf):
        state.out().print(str(path))


@demo_app.command("run")
def run(
    ctx: typer.Context,
    stack_dir: Path = STACK_DIR,
    config_out: Path = CONFIG_OUT,
    force: bool = typer.Option(False, "--force", help="Submit a new run even if one exists."),
    read_pairs: Optional[int] = typer.Option(None, "--read-pairs", min=100),  # noqa: UP045
) -> None:
    """The main job on this machine: local up, demo data, submit --wait, fetch, score, tier
    plan, summary. Leaves the stack running."""
    from genoflow.local.demo import format_summary, run_demo

    state = state_of(ctx)
    stack = _stack(stack_dir, config_out)
    summary = run_demo(stack, force=force, read_pairs=read_pairs, info=state.info)
    if state.json:
        state.emit_json(summary.to_dict())
    else:
        state.out().print(format_summary(summary, stack), markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(local_app, name="local")
    app.add_typer(demo_app, name="demo")
