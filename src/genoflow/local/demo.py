"""The main job end to end on the local stack: data, submit, wait, fetch, score, tier plan.

Every step is the real CLI (``python -m genoflow -f genoflow.yaml --json ...``) run as a child
process, exactly what a user would type, so the demo exercises what the README documents.
Steps that a user could run on their own are printed before they run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genoflow.errors import ExitCode, GenoflowError, UnavailableError
from genoflow.local.stack import DEMO_REFERENCE, LocalStack

if TYPE_CHECKING:
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


class Cli:
    """Runs ``genoflow -f CONFIG --json ARGS`` as a child process and parses its JSON lines."""

    def __init__(
        self, config_file: Path, info: Callable[[str], None], env: dict[str, str] | None = None
    ) -> None:
        self._config = config_file
        self._info = info
        self._env = env

    def run(self, args: Sequence[str], *, show: bool = True) -> tuple[int, list[Any], str]:
        if show:
            self._info("$ genoflow " + " ".join(args))
        command = [sys.executable, "-m", "genoflow", "-f", str(self._config), "--json", *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=self._env)
        for line in done.stderr.splitlines():
            self._info(f"  {line}")
        documents = [
            json.loads(line) for line in done.stdout.splitlines() if line.startswith(("{", "["))
        ]
        return done.returncode, documents, done.stderr.strip()


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
    cli = Cli(stack.config_file, info, _isolated(os.environ if env is None else env))
    run, existing = _submit(cli, data, force)
    vcf = _fetch(cli, run["id"], stack.demo_dir / "outputs" / run["id"])
    from genoflow.demo import evaluate

    scores = evaluate(vcf, data.truth_vcf, data.reference)
    tier, skipped = _tier_plan(cli)
    return DemoSummary(
        run_id=run["id"],
        existing=existing,
        state=run["state"],
        run_wall_seconds=run.get("wall_seconds"),
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
    commands away from the local stack (GENOFLOW_SERVICE__URL, AZURE_STORAGE_KEY...)."""
    keep = ("GENOFLOW_STATE_DIR", "GENOFLOW_AZURITE")
    return {
        k: v
        for k, v in environ.items()
        if k in keep or not k.startswith(("GENOFLOW_", "AZURE_STORAGE_"))
    }


def _submit(cli: Cli, data: DemoData, force: bool) -> tuple[dict[str, Any], bool]:
    args = ["submit", "-b1", str(data.fastq_r1), "-b2", str(data.fastq_r2), "--wait"]
    code, documents, stderr = cli.run([*args, "--force"] if force else args)
    submitted = next((d for d in documents if isinstance(d, dict) and "run" in d), None)
    finished = next((d for d in documents if isinstance(d, list) and d), None)
    if submitted is None:
        raise _step_error("submit", code, stderr)
    run = finished[0] if finished else submitted["run"]
    if code != ExitCode.OK:
        raise StepFailedError(
            f"run {run['id']} ended {run['state']}: {run.get('message') or ''}",
            code,
            hint=f"read its log with 'genoflow logs {run['id']}'",
        )
    return run, bool(submitted.get("existing"))


def _fetch(cli: Cli, run_id: str, directory: Path) -> Path:
    code, documents, stderr = cli.run(["fetch", run_id, "-o", str(directory)])
    if code != ExitCode.OK or not documents:
        raise _step_error("fetch", code, stderr)
    paths = [Path(f["path"]) for f in documents[0]["files"]]
    vcfs = [p for p in paths if p.name.endswith((".vcf", ".vcf.gz"))]
    if not vcfs:
        raise UnavailableError(
            f"run {run_id} has no VCF among its outputs: {', '.join(p.name for p in paths)}"
        )
    return vcfs[0]


def _tier_plan(cli: Cli) -> tuple[dict[str, Any] | None, str | None]:
    """What the cleanup job would move now and in a month; (None, why) when it cannot say."""
    later = (datetime.now(timezone.utc) + timedelta(days=TIER_PREVIEW_DAYS)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    plans = {}
    for label, extra in (("now", []), (f"in {TIER_PREVIEW_DAYS} days", ["--as-of", later])):
        code, documents, stderr = cli.run(["tier", "plan", *extra])
        if code != ExitCode.OK or not documents:
            return None, f"'genoflow tier plan' exited {code}: {_last_line(stderr)}"
        plans[label] = documents[0]
    return plans, None


class StepFailedError(GenoflowError):
    """A demo step failed: the demo exits with that step's own exit code."""

    def __init__(self, message: str, code: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        known = code in ExitCode._value2member_map_ and code != ExitCode.OK
        self.exit_code = ExitCode(code) if known else ExitCode.INTERNAL


def _step_error(step: str, code: int, stderr: str) -> GenoflowError:
    return StepFailedError(f"'genoflow {step}' exited {code}: {_last_line(stderr)}", code)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


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
            f"    {label:<13} {plan['planned']} change(s), {plan['planned_bytes']} bytes; "
            f"monthly storage cost {plan['cost_before']:.4f} -> {plan['cost_after']:.4f}"
        )
    return lines
