"""Toil on a one-node Slurm cluster vs cwltool, on the same sample: ratio and where time goes.

    .venv/bin/python bench/toil_slurm.py                      # 500 000 read pairs, 2 threads
    .venv/bin/python bench/toil_slurm.py --read-pairs 100000 --runs cwltool,slurm

Needs root, slurm-wlm + munge (``make os-tools``) and toil-cwl-runner (``make toil``); it starts
the cluster itself (tests/slurm_cluster.py) and stops it at the end. Each configuration runs
the pipeline's ``#analysis`` entry point on the same job (FASTQ, indexed reference, threads):

* ``cwltool``: the baseline;
* ``single``: toil-cwl-runner, single_machine batch system (Toil without Slurm);
* ``slurm``: toil-cwl-runner --batchSystem slurm, Toil's defaults;
* ``slurm-tuned``: the same with the options that cut per-job work (TUNED below).

Printed: wall time, its ratio to cwltool's, the 1-minute load average before and after, and
for the Toil runs where the time went: leader start-up (engine start to the first job issued),
the tools' own time (Toil's ``--stats``: time in each CWLJob), Slurm queueing (submit to start,
from the cluster's jobcomp record, 1 s resolution), each Slurm job's span minus its job time
(the Toil worker's start-up, file staging and teardown), the last step's end to the leader's
"Finished" (it walks the finished job tree up one level per main-loop tick, and an idle tick
waits 2 s: ``getUpdatedBatchJob(maxWait=2)`` in toil/leader.py), the outputs' export, and
the rest (between steps: Toil's own jobs, each a new worker process, and idle ticks). Sums
of job times overlap where jobs run in parallel (shards).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.slurm_cluster import SlurmCluster, start_cluster, unavailable_reason  # noqa: E402

# Toil options that reduce per-job work on a shared filesystem (docs/scale-out.md):
# no per-node file cache (files are read from the shared job store once anyway), jobs asking
# 2 GiB unless they say otherwise (Slurm places them by it), outputs moved, not copied, to the
# output dir.
TUNED = ["--caching=false", "--defaultMemory=2Gi", "--moveOutputs=true"]
RUNS = ("cwltool", "single", "slurm", "slurm-tuned")
TIMESTAMP = "[%Y-%m-%dT%H:%M:%S%z]"


@dataclass
class Result:
    name: str
    seconds: float
    load_before: float
    load_after: float
    vcf: Path
    parts: dict[str, float] = field(default_factory=dict)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    runs = [name.strip() for name in args.runs.split(",")]
    unknown = set(runs) - set(RUNS)
    if unknown or "cwltool" not in runs:
        raise SystemExit(f"--runs: choose from {', '.join(RUNS)}, cwltool included")
    reason = unavailable_reason() if any(r.startswith("slurm") for r in runs) else None
    if reason:
        raise SystemExit(f"no Slurm cluster: {reason}")
    toil = shutil.which("toil-cwl-runner") or str(ROOT / ".venv-toil" / "bin" / "toil-cwl-runner")
    if any(r != "cwltool" for r in runs) and not Path(toil).exists():
        raise SystemExit("toil-cwl-runner not found: run 'make toil'")
    work = Path(args.dir or tempfile.mkdtemp(prefix="bench-toil-slurm-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    job = _job(work, args)
    cluster = start_cluster() if any(r.startswith("slurm") for r in runs) else None
    try:
        results = [_run(name, job, work, toil, args.workflow, cluster) for name in runs]
    finally:
        if cluster is not None:
            cluster.stop()
    _report(results, args)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--read-pairs", type=int, default=500_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--coverage", type=float, default=30.0, help="sizes the reference")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", default=",".join(RUNS), help=f"some of {', '.join(RUNS)}")
    parser.add_argument("--workflow", help="CWL entry point (default: the pipeline's #analysis)")
    parser.add_argument("--dir", help="work directory (default: a new temporary one)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    return parser.parse_args(argv)


def _job(work: Path, args: argparse.Namespace) -> Path:
    """The sample (as bench/pipeline.py simulates it), its reference indexed, the job file."""
    from genoflow.demo import simulate
    from genoflow.pipelines import build_job, prepare_reference

    length = max(300_000, round(args.read_pairs * 2 * 150 / args.coverage))
    _say(f"simulating {args.read_pairs} read pairs on a {length} bp reference")
    data = simulate(
        work / "data",
        seed=args.seed,
        reference_length=length,
        read_pairs=args.read_pairs,
        snvs=max(100, length // 1000),
        indels=max(20, length // 5000),
    )
    reference = prepare_reference(data.reference, work / "reference")
    job = build_job(
        reference=reference,
        sample=data.sample,
        fastq_pairs=[(data.fastq_r1, data.fastq_r2)],
        threads=args.threads,
        caller="bcftools",
        base=data.sample,
    )
    return job.write(work / "job.json")


def _run(
    name: str,
    job: Path,
    work: Path,
    toil: str,
    workflow: str | None,
    cluster: SlurmCluster | None,
) -> Result:
    from genoflow.pipelines import collect_outputs, engine_command, engine_environment, entry_point

    directory = work / name
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "work").mkdir(parents=True)
    extra = _extra_args(name)
    command = engine_command(
        "cwltool" if name == "cwltool" else "toil",
        workflow or entry_point("analysis"),
        job,
        directory / "out",
        directory / "work",
        extra,
        executable=None if name == "cwltool" else toil,
    )
    env = engine_environment(command)
    if cluster is not None:
        env = cluster.env(env)
    _say(f"{name}: running")
    load_before = os.getloadavg()[0]
    started, wall_start = time.monotonic(), datetime.now().astimezone()
    done = subprocess.run(command, cwd=directory / "work", env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    (directory / "engine.stderr").write_text(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{name} exited {done.returncode}: {done.stderr[-2000:]}")
    outputs = collect_outputs(done.stdout[done.stdout.find("{") :])
    result = Result(name, seconds, load_before, os.getloadavg()[0], outputs.vcf)
    if name != "cwltool":
        result.parts = _breakdown(directory, done.stderr, wall_start, seconds, cluster)
    _say(f"{name}: {seconds:.1f} s")
    return result


def _extra_args(name: str) -> list[str]:
    if name == "cwltool":
        return []
    # --stats keeps each job's time; the job store stays until `toil stats` has read it
    toil = ["--stats", "--clean", "never"]
    if name == "single":
        return [*toil, "--batchSystem", "single_machine"]
    return [*toil, "--batchSystem", "slurm", *(TUNED if name == "slurm-tuned" else [])]


def _breakdown(
    directory: Path,
    stderr: str,
    wall_start: datetime,
    seconds: float,
    cluster: SlurmCluster | None,
) -> dict[str, float]:
    """Where a Toil run's wall time went (seconds; 1 s resolution where from logs)."""
    store = directory / "work" / "jobstore"
    stats = _toil_stats(store)
    tools = sum(
        kind["total_time"]
        for name, kind in stats.get("job_types", {}).items()
        if name.startswith("CWLJob ")
    )
    local = sum(
        kind["total_time"]
        for name, kind in stats.get("job_types", {}).items()
        if not name.startswith("CWLJob ")
    )
    parts = {"tools (CWLJob time)": tools, "Toil's own jobs (time)": local}
    first_issue = _first_time(stderr, "Issued job")
    if first_issue is not None:
        parts["leader start-up"] = max(0.0, (first_issue - wall_start).total_seconds())
    last_step = _last_time(stderr, "CWL step complete")
    finished = _first_time(stderr, "Finished toil run")
    if last_step is not None and finished is not None:
        # the leader walks the finished job tree up one level per tick, 2 s each when idle
        parts["last step to leader done (tree walk-up)"] = (finished - last_step).total_seconds()
    if finished is not None:
        end = wall_start.timestamp() + seconds
        parts["outputs export, cleanup"] = max(0.0, end - finished.timestamp())
    if cluster is not None:
        jobs = [j for j in cluster.finished() if j.get("WorkDir") == str(directory / "work")]
        parts["slurm jobs"] = float(len(jobs))
        parts["slurm queueing"] = sum(_span(j, "SubmitTime", "StartTime") for j in jobs)
        spans = sum(_span(j, "StartTime", "EndTime") for j in jobs)
        slurm_tools = sum(
            kind["total_time"]
            for name, kind in stats.get("job_types", {}).items()
            if any(name.split()[-1] in j["Name"] for j in jobs)
        )
        parts["slurm job spans - their job time"] = max(0.0, spans - slurm_tools)
    accounted = sum(v for k, v in parts.items() if k not in ("slurm jobs",))
    parts["rest (between steps: Toil's jobs' start-up, 2 s ticks)"] = max(0.0, seconds - accounted)
    subprocess.run(
        [str(Path(_toil_bin()) / "toil"), "clean", str(store)], capture_output=True, check=False
    )
    return parts


def _toil_bin() -> str:
    found = shutil.which("toil-cwl-runner")
    return str(Path(found).parent) if found else str(ROOT / ".venv-toil" / "bin")


def _toil_stats(store: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(Path(_toil_bin()) / "toil"), "stats", "--raw", str(store)],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        stats: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        _say(f"toil stats: {done.stderr.strip()[-300:]}")
        return {}
    return stats


def _first_time(stderr: str, marker: str) -> datetime | None:
    for line in stderr.splitlines():
        if marker in line and line.startswith("["):
            try:
                return datetime.strptime(line.split(" ", 1)[0], TIMESTAMP)
            except ValueError:
                continue
    return None


def _last_time(stderr: str, marker: str) -> datetime | None:
    lines = [line for line in stderr.splitlines() if marker in line]
    return _first_time(lines[-1], marker) if lines else None


def _span(job: dict[str, str], start: str, end: str) -> float:
    try:
        begin = datetime.fromisoformat(job[start])
        return (datetime.fromisoformat(job[end]) - begin).total_seconds()
    except (KeyError, ValueError):
        return 0.0


def _records(vcf: Path) -> list[str]:
    """The VCF's records; a VCF bcftools cannot read stops the benchmark (never "same calls")."""
    done = subprocess.run(["bcftools", "view", "-H", str(vcf)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bcftools view {vcf}: {done.stderr.strip() or done.returncode}")
    return done.stdout.splitlines()


def _report(results: list[Result], args: argparse.Namespace) -> None:
    baseline = next(r for r in results if r.name == "cwltool")  # --runs includes it, any order
    expected = _records(baseline.vcf)
    same = {r.name: _records(r.vcf) == expected for r in results if r is not baseline}
    if args.json:
        document = {
            "read_pairs": args.read_pairs,
            "threads": args.threads,
            "runs": [
                {**r.__dict__, "vcf": str(r.vcf), "ratio": r.seconds / baseline.seconds}
                for r in results
            ],
            "same_calls_as_cwltool": same,
        }
        print(json.dumps(document, indent=2))
        return
    print(f"\n{args.read_pairs} read pairs, {args.threads} threads, {os.cpu_count()} cores")
    print(f"{'run':<12} {'seconds':>8} {'÷ cwltool':>10} {'load before/after':>18}  same calls")
    for r in results:
        calls = "-" if r is baseline else ("yes" if same[r.name] else "NO")
        print(
            f"{r.name:<12} {r.seconds:8.1f} {r.seconds / baseline.seconds:10.2f} "
            f"{r.load_before:8.2f} / {r.load_after:<7.2f}  {calls}"
        )
    for r in results:
        if r.parts:
            print(f"\n{r.name}: where the {r.seconds:.1f} s went")
            for part, value in r.parts.items():
                unit = "" if part == "slurm jobs" else " s"
                print(f"  {part:<44} {value:8.1f}{unit}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
