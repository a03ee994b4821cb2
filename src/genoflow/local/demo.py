"""The main job end to end on the local stack: data, submit, wait, fetch, score, tier plan.

Every step calls the library entry points the CLI commands call (genoflow.orchestration.api),
with the settings of the stack's genoflow.yaml; the command a user would type for each step
is printed before it runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genoflow.errors import ExitCode, GenoflowError, UnavailableError
from genoflow.local.stack import DEMO_REFERENCE, LocalStack
from genoflow.model.runs import Run, RunState
from genoflow.units import format_size

if TYPE_CHECKING:
    from genoflow.config import Settings
    from genoflow.demo import DemoData, Scores

DATASET_FILE = "dataset.json"
DEFAULT_SEED = 1
DEFAULT_PARAMETERS: dict[str, Any] = {
    "seed": DEFAULT_SEED,
    "reference_length": 300_000,
    "coverage": 30.0,
    "snvs": 300,
    "indels": 60,
    "read_pairs": None,
}
TIER_PREVIEW_DAYS = 31  # the packaged policy moves nothing younger than 7 days


# --- the dataset --------------------------------------------------------------------------


def demo_data(
    directory: Path,
    *,
    read_pairs: int | None = None,
    seed: int = DEFAULT_SEED,
    info: Callable[[str], None] = print,
) -> tuple[DemoData, bool]:
    """The demo dataset in ``directory``: reused when present with the same parameters,
    generated otherwise. Returns (data, reused)."""
    from genoflow.demo import DemoData, simulate

    parameters = {**DEFAULT_PARAMETERS, "seed": seed, "read_pairs": read_pairs}
    marker = directory / DATASET_FILE
    recorded = _read_marker(marker)
    if recorded is not None and recorded.get("parameters") == parameters:
        fields: dict[str, Any] = {
            k: Path(v) if k in _PATH_FIELDS else v for k, v in recorded["data"].items()
        }
        data = DemoData(**fields)
        if all(
            Path(p).is_file()
            for p in (data.reference, data.fastq_r1, data.fastq_r2, data.truth_vcf)
        ):
            return data, True
    info(f"generating the demo dataset in {directory} (seed {seed})")
    marker.unlink(missing_ok=True)  # a half-written dataset is never taken for a whole one
    data = simulate(
        directory,
        **{k: v for k, v in parameters.items() if k != "read_pairs"},
        read_pairs=read_pairs,
    )
    record = {
        "parameters": parameters,
        "data": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(data).items()},
    }
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return data, False


_PATH_FIELDS = frozenset(
    {"directory", "reference", "fastq_r1", "fastq_r2", "truth_vcf", "truth_index"}
)


def _read_marker(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def ensure_reference(stack: LocalStack, reference: Path, name: str = DEMO_REFERENCE) -> bool:
    """Register ``reference`` with the local server under ``name`` unless it already is
    (same bytes). Returns True when it had to be (re)built."""
    from genoflow.server.references import ReferenceRegistry, add_reference

    root = stack.server_dir / "references"
    registry = ReferenceRegistry(root, {})
    if registry.known(name):
        current = registry.fasta(name)
        if current.is_file() and current.read_bytes() == reference.read_bytes():
            return False
    add_reference(registry, root, name, reference)
    return True


# --- the run ------------------------------------------------------------------------------


@dataclass
class DemoSummary:
    run_id: str
    existing: bool
    state: str
    run_wall_seconds: float | None
    demo_wall_seconds: float
    vcf: Path
    snvs_called: int
    indels_called: int
    scores: Scores
    tier: dict[str, Any] | None
    tier_skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def score(s: Any) -> dict[str, Any]:
            return {
                "tp": s.true_positives,
                "fp": s.false_positives,
                "fn": s.false_negatives,
                "recall": round(s.recall, 4),
                "precision": round(s.precision, 4),
            }

        return {
            "run": self.run_id,
            "existing": self.existing,
            "state": self.state,
            "run_wall_seconds": self.run_wall_seconds,
            "demo_wall_seconds": round(self.demo_wall_seconds, 1),
            "vcf": str(self.vcf),
            "variants_called": {"snv": self.snvs_called, "indel": self.indels_called},
            "snv": score(self.scores.snv),
            "indel": score(self.scores.indel),
            "tier_plan": self.tier,
            "tier_plan_skipped": self.tier_skipped,
        }


def run_demo(
    stack: LocalStack,
    *,
    force: bool = False,
    read_pairs: int | None = None,
    info: Callable[[str], None] = print,
    env: dict[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DemoSummary:
    """Bring the stack up, then run the main job on the demo dataset and score it."""
    from genoflow.config import load_settings

    started = clock()
    result = stack.up()
    info("local stack: " + ("already up" if result.already_up else "started"))
    data, reused = demo_data(stack.demo_dir, read_pairs=read_pairs, info=info)
    info(
        f"demo dataset: {'reused' if reused else 'generated'} ({data.read_pairs} read pairs, "
        f"{data.snvs} SNVs + {data.indels} indels in the truth)"
    )
    if ensure_reference(stack, data.reference):
        info(f"reference '{DEMO_REFERENCE}' registered with the local server")
    environ = _isolated(os.environ if env is None else env)
    settings = load_settings(stack.config_file, environ=environ)
    run, existing = _submit(settings, data, force, info)
    vcf = _fetch(settings, run, stack.demo_dir / "outputs" / run.id, info)
    from genoflow.demo import evaluate

    scores = evaluate(vcf, data.truth_vcf, data.reference)
    tier, skipped = _tier_plan(settings, info)
    wall = run.wall_time
    return DemoSummary(
        run_id=run.id,
        existing=existing,
        state=run.state.value,
        run_wall_seconds=round(wall.total_seconds()) if wall is not None else None,
        demo_wall_seconds=clock() - started,
        vcf=vcf,
        snvs_called=scores.snv.true_positives + scores.snv.false_positives,
        indels_called=scores.indel.true_positives + scores.indel.false_positives,
        scores=scores,
        tier=tier,
        tier_skipped=skipped,
    )


def _isolated(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment without settings that would outrank genoflow.yaml and point the demo's
    steps away from the local stack (GENOFLOW_SERVICE__URL, AZURE_STORAGE_KEY...)."""
    keep = ("GENOFLOW_STATE_DIR", "GENOFLOW_AZURITE")
    return {
        k: v
        for k, v in environ.items()
        if k in keep or not k.startswith(("GENOFLOW_", "AZURE_STORAGE_"))
    }


def _submit(settings: Settings, data: DemoData, force: bool, info: Info) -> tuple[Run, bool]:
    """What ``genoflow submit -b1 R1 -b2 R2 --wait`` does, through the library."""
    from genoflow.orchestration import api

    info(
        f"$ genoflow submit -b1 {data.fastq_r1} -b2 {data.fastq_r2} --wait"
        + (" --force" if force else "")
    )
    with _step("genoflow submit"):
        outcome = api.submit_sample(
            settings, [str(data.fastq_r1)], [str(data.fastq_r2)], force=force, info=_indent(info)
        )
        [run] = api.wait_runs(settings, [outcome.run.id], info=_indent(info))
    if run.state is not RunState.SUCCEEDED:
        raise StepFailedError(
            f"run {run.id} ended {run.state.value}: {run.message or ''}",
            int(run.state.exit_code),
            hint=f"read its log with 'genoflow logs {run.id}'",
        )
    return run, outcome.existing


def _fetch(settings: Settings, run: Run, directory: Path, info: Info) -> Path:
    from genoflow.orchestration import api

    info(f"$ genoflow fetch {run.id} -o {directory}")
    with _step("genoflow fetch"):
        result = api.fetch_run(settings, run.id, directory, info=_indent(info))
    paths = [item.path for item in result.files]
    vcfs = [p for p in paths if p.name.endswith((".vcf", ".vcf.gz"))]
    if not vcfs:
        raise UnavailableError(
            f"run {run.id} has no VCF among its outputs: {', '.join(p.name for p in paths)}"
        )
    return vcfs[0]


def _tier_plan(settings: Settings, info: Info) -> tuple[dict[str, Any] | None, str | None]:
    """What the cleanup job would move now and in a month; (None, why) when it cannot say."""
    from genoflow.orchestration import api

    now = datetime.now(timezone.utc)
    plans = {}
    for label, moment in (
        ("now", now),
        (f"in {TIER_PREVIEW_DAYS} days", now + timedelta(days=TIER_PREVIEW_DAYS)),
    ):
        as_of = "" if moment is now else f" --as-of {TIER_PREVIEW_DAYS}d"
        info(f"$ genoflow tier plan{as_of}")
        try:
            plans[label] = api.plan_tiers(settings, now=moment)
        except GenoflowError as exc:
            return None, f"'genoflow tier plan' failed: {exc.one_line()}"
    return plans, None


Info = Callable[[str], None]


def _indent(info: Info) -> Info:
    return lambda line: info(f"  {line}")


@contextmanager
def _step(step: str) -> Iterator[None]:
    """A failing step keeps its own exit code, and says which step it was."""
    try:
        yield
    except GenoflowError as exc:
        raise StepFailedError(
            f"'{step}' failed: {exc.message}", int(exc.exit_code), hint=exc.hint
        ) from exc


class StepFailedError(GenoflowError):
    """A demo step failed: the demo exits with that step's own exit code."""

    def __init__(self, message: str, code: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        known = code in ExitCode._value2member_map_ and code != ExitCode.OK
        self.exit_code = ExitCode(code) if known else ExitCode.INTERNAL


def format_summary(summary: DemoSummary, stack: LocalStack) -> str:
    """The few lines a newcomer reads at the end of ``make demo``."""
    s = summary
    run_wall = f"{s.run_wall_seconds:.0f} s" if s.run_wall_seconds is not None else "unknown"
    lines = [
        "",
        "genoflow demo: the main job ran end to end",
        f"  run id          {s.run_id} ({s.state}"
        + (", existing run reused: pass --force to submit a new one)" if s.existing else ")"),
        f"  run wall time   {run_wall} (submit -> outputs written, as the service timed it)",
        f"  demo wall time  {s.demo_wall_seconds:.0f} s (this command)",
        f"  VCF             {s.vcf}",
        f"  variants called {s.snvs_called} SNVs, {s.indels_called} indels",
        "  against the truth VCF (bcftools-normalised, genotype-agnostic):",
        *("    " + row for row in s.scores.summary().splitlines()),
    ]
    lines += _tier_lines(s)
    program = genoflow_command()
    lines += [
        "",
        f"The stack is still running (config: {stack.config_file}); try '{program} list'.",
        f"Stop it with:  {program} local down",
    ]
    return "\n".join(lines)


def genoflow_command() -> str:
    """How the user can call genoflow: plain ``genoflow`` when it is on PATH, else the path of
    the one running now (``make demo`` runs it from .venv/bin, which is rarely on PATH)."""
    import shutil

    beside = Path(sys.executable).parent / "genoflow"
    on_path = shutil.which("genoflow")
    if on_path and Path(on_path).resolve() == beside.resolve():
        return "genoflow"
    return os.path.relpath(beside) if beside.exists() else "genoflow"


def _tier_lines(s: DemoSummary) -> list[str]:
    if s.tier is None:
        return [f"  tier plan       skipped: {s.tier_skipped}"]
    lines = ["  tier plan       (what 'genoflow tier apply' would change; nothing was moved)"]
    for label, plan in s.tier.items():
        lines.append(
            f"    {label:<13} {plan['planned']} change(s), {format_size(plan['planned_bytes'])}; "
            f"monthly storage cost {plan['cost_before']:.4f} -> {plan['cost_after']:.4f}"
        )
    return lines
