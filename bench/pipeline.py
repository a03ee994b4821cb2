"""Pipeline benchmark: genoflow submit -> outputs fetched vs the same tools by hand, and accuracy.

    .venv/bin/python bench/pipeline.py                      # 500 000 read pairs, 2 threads
    .venv/bin/python bench/pipeline.py --read-pairs 2000000 --threads 2
    .venv/bin/python bench/pipeline.py --read-pairs 2000 --repeat 3   # a tiny run's fixed cost

On a generated sample (``genoflow.demo.simulate``; the reference is sized for ~30x unless
--reference-length is given) it measures

* genoflow end to end: ``genoflow submit --wait`` then ``genoflow fetch`` of every output (BAM,
  index, VCF, logs), wall time as the user sees it, on a private local stack (Azurite + genoflow
  server, started and stopped here; the FASTQ uploaded beforehand, not counted). The server's
  own records split it: input checks and staging, engine, output upload; the rest is client
  (CLI start, submit, learning the end, fetch);
* by hand: the same tools typed the plain linear way (bwa mem | fixmate | sort | markdup;
  samtools index; mpileup | call), same options and thread count, on the same FASTQ and
  reference;
* their ratio (target <= 0.85: the server shards calling over the cores), whether the
  server's (sharded) calls and BAM records are the by-hand (unsharded) ones, and recall/
  precision for SNVs and indels against the truth, for every call and for PASS calls only.

Reference indexing is excluded from both sides: the server has it built at registration.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

TARGET_RATIO = 0.85


@dataclass
class ServerRun:
    end_to_end: float  # submit --wait + fetch, client wall time
    phases: dict[str, float]  # where the server says its time went
    vcf: Path
    bam: Path
    shards: int  # calling jobs the run used


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    work = Path(args.dir or tempfile.mkdtemp(prefix="genoflow-bench-")).absolute()
    work.mkdir(parents=True, exist_ok=True)
    data = _dataset(work, args)
    loads = {"before": os.getloadavg()[0]}
    runs = _server_side(work, data, args)
    loads["server"] = os.getloadavg()[0]
    direct_seconds, direct_dir = _direct(work, data, args.threads)
    loads["direct"] = os.getloadavg()[0]
    _report(args, data, runs, direct_seconds, direct_dir, loads)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--read-pairs", type=int, default=500_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--coverage", type=float, default=30.0, help="sizes the reference")
    parser.add_argument("--reference-length", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="server runs (the best is used)")
    parser.add_argument("--dir", help="work directory (default: a new temporary one)")
    parser.add_argument("--keep-stack", action="store_true", help="leave the stack running")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    return parser.parse_args(argv)


def _dataset(work: Path, args: argparse.Namespace) -> Any:
    from genoflow.demo import simulate

    length = args.reference_length or max(300_000, round(args.read_pairs * 2 * 150 / args.coverage))
    _say(f"simulating {args.read_pairs} read pairs on a {length} bp reference")
    started = time.monotonic()
    data = simulate(
        work / "data",
        seed=args.seed,
        reference_length=length,
        read_pairs=args.read_pairs,
        snvs=max(100, length // 1000),
        indels=max(20, length // 5000),
    )
    _say(f"  {time.monotonic() - started:.0f} s: {data.snvs} SNVs + {data.indels} indels in truth")
    return data


def _server_side(work: Path, data: Any, args: argparse.Namespace) -> list[ServerRun]:
    from genoflow.local import LocalStack
    from genoflow.local.demo import ensure_reference

    stack = LocalStack(work / ".genoflow", work / "genoflow.yaml")
    stack.up(threads=args.threads)
    try:
        _say(f"stack up ({args.threads} threads per run); registering the reference")
        ensure_reference(stack, data.reference)
        env = {**os.environ, "GENOFLOW_STATE_DIR": str(work / "state")}
        env = {k: v for k, v in env.items() if not k.startswith(("GENOFLOW_SERVICE", "AZURE_"))}
        base = [sys.executable, "-m", "genoflow", "-f", str(stack.config_file), "--json"]
        _cli([*base, "upload", str(data.fastq_r1), str(data.fastq_r2)], env)
        runs = []
        for attempt in range(args.repeat):
            _say(f"run {attempt + 1}/{args.repeat}: submit --wait, then fetch every output")
            runs.append(_one_run(work, data, base, env, work / f"server-out-{attempt}"))
            _say(f"  {runs[-1].end_to_end:.1f} s end to end")
        return runs
    finally:
        if not args.keep_stack:
            stack.down()


def _one_run(work: Path, data: Any, base: list[str], env: dict[str, str], out: Path) -> ServerRun:
    started = time.monotonic()
    submit = [*base, "submit", "-b1", str(data.fastq_r1), "-b2", str(data.fastq_r2)]
    documents = _cli([*submit, "--wait", "--force"], env)
    record = documents[-1][0] if isinstance(documents[-1], list) else documents[-1]
    run = record.get("run", record)
    if run["state"] != "succeeded":
        raise SystemExit(f"run {run['id']} ended {run['state']}: {run.get('message')}")
    fetched = _cli([*base, "fetch", run["id"], "-o", str(out)], env)
    end_to_end = time.monotonic() - started
    files = [Path(f["path"]) for f in fetched[0]["files"]]
    vcf = next(p for p in files if ".vcf" in p.name and not p.name.endswith(".tbi"))
    bam = next(p for p in files if p.name.endswith(".bam"))
    phases, shards = _server_phases(work / ".genoflow" / "server", run["id"])
    return ServerRun(end_to_end, phases, vcf, bam, shards)


def _server_phases(server_dir: Path, run_id: str) -> tuple[dict[str, float], int]:
    """The run's phases from the server's run store and engine log: before the engine
    (queue, staging, input checks), the engine, after it (output upload)."""
    with sqlite3.connect(server_dir / "runs.sqlite") as db:
        query = "SELECT created, ended FROM runs WHERE id = ?"
        created, ended = db.execute(query, (run_id,)).fetchone()
        query = "SELECT start_time, end_time FROM tasks WHERE run_id = ? AND name = 'pipeline'"
        start, end = db.execute(query, (run_id,)).fetchone()
    at = {
        k: datetime.fromisoformat(v)
        for k, v in zip("csex", (created, start, end, ended), strict=True)
    }
    log = server_dir / "logs" / f"{run_id}.log"
    jobs = (
        set(re.findall(r"\[job (call_shard(?:_\d+)?)\]", log.read_text())) if log.is_file() else ()
    )
    shards = len(jobs)
    phases = {
        "before engine": (at["s"] - at["c"]).total_seconds(),
        "engine": (at["e"] - at["s"]).total_seconds(),
        "output upload": (at["x"] - at["e"]).total_seconds(),
    }
    return phases, shards


def _cli(command: list[str], env: dict[str, str]) -> list[Any]:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[5:7])}... exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return [json.loads(line) for line in done.stdout.splitlines() if line[:1] in "{["]


def _direct(work: Path, data: Any, threads: int) -> tuple[float, Path]:
    """The plain linear way, typed by hand: no shards, no header naming, no FILTER; the same
    tools, options and thread count, on a reference indexed beforehand."""
    from genoflow.pipelines import derive_read_group, prepare_reference

    reference = prepare_reference(data.reference, work / "direct-ref")
    directory = work / "direct"
    directory.mkdir(exist_ok=True)
    ref, r1, r2 = (shlex.quote(str(p)) for p in (reference.fasta, data.fastq_r1, data.fastq_r2))
    rg, t, s = shlex.quote(derive_read_group(data.sample)), threads, shlex.quote(data.sample)
    script = f"""set -euo pipefail
cd {shlex.quote(str(directory))}
bwa mem -t {t} -K 100000000 -R {rg} {ref} {r1} {r2} 2> align.log \\
  | samtools fixmate -@ {t} -m -u - - | samtools sort -@ {t} -T sort.tmp -u - \\
  | samtools markdup -@ {t} -s -T markdup.tmp - {s}.bam 2>> align.log
samtools index -@ {t} {s}.bam
bcftools mpileup --threads {t} -f {ref} -a AD,DP -Ou {s}.bam 2> call.log \\
  | bcftools call --threads {t} -m -v -O v -o {s}.vcf
"""
    (directory / "by-hand.sh").write_text(script)
    _say("running the same tools by hand (linear)")
    started = time.monotonic()
    subprocess.run(["bash", str(directory / "by-hand.sh")], check=True)
    return time.monotonic() - started, directory


def _records(path: Path) -> list[str]:
    """BAM records, or VCF records without FILTER (by hand sets none; genoflow PASS/LowQual/
    LowDP)."""
    command = ["samtools", "view"] if path.name.endswith(".bam") else ["bcftools", "view", "-H"]
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, check=True)
    if path.name.endswith(".bam"):
        return done.stdout.splitlines()
    return ["\t".join(f[:6] + f[7:]) for f in (r.split("\t") for r in done.stdout.splitlines())]


def _scores(vcf: Path, data: Any) -> dict[str, dict[str, dict[str, float]]]:
    from genoflow.demo import evaluate

    result = {}
    for name, pass_only in (("all", False), ("pass", True)):
        scores = evaluate(vcf, data.truth_vcf, data.reference, pass_only=pass_only)
        result[name] = {
            kind: {"recall": round(s.recall, 4), "precision": round(s.precision, 4)}
            for kind, s in (("snv", scores.snv), ("indel", scores.indel))
        }
    return result


def _report(
    args: argparse.Namespace,
    data: Any,
    runs: list[ServerRun],
    direct: float,
    direct_dir: Path,
    loads: dict[str, float],
) -> None:
    best = min(runs, key=lambda run: run.end_to_end)
    direct_vcf, direct_bam = direct_dir / f"{data.sample}.vcf", direct_dir / f"{data.sample}.bam"
    same_calls = _records(best.vcf) == _records(direct_vcf)
    same_bam = _records(best.bam) == _records(direct_bam)
    ratio = best.end_to_end / direct
    fixed = best.end_to_end - best.phases["engine"]
    result = {
        "read_pairs": data.read_pairs,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "load_average": {k: round(v, 2) for k, v in loads.items()},
        "end_to_end_seconds": [round(run.end_to_end, 2) for run in runs],
        "direct_seconds": round(direct, 2),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "phases": {k: round(v, 2) for k, v in best.phases.items()},
        "fixed_cost_seconds": round(fixed, 2),
        "calling_shards": best.shards,
        "sharded_calls_identical": same_calls,
        "bam_records_identical": same_bam,
        "scores": _scores(best.vcf, data),
    }
    if args.json:
        print(json.dumps(result))
        return
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"read pairs          {data.read_pairs} ({args.threads} threads, {os.cpu_count()} CPUs)")
    print(
        f"load average (1 min) before {loads['before']:.2f}, after genoflow "
        f"{loads['server']:.2f}, after by hand {loads['direct']:.2f}"
    )
    runs_text = ", ".join(f"{run.end_to_end:.1f}" for run in runs)
    print(
        f"genoflow end to end {best.end_to_end:.1f} s (submit -> every output fetched; {runs_text})"
    )
    print("  server: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.phases.items()))
    print(f"  end to end minus engine: {fixed:.2f} s; calling jobs: {best.shards or 1}")
    print(f"by hand             {direct:.1f} s (same tools, plain linear script)")
    print(f"ratio               {ratio:.3f} ({verdict} the {TARGET_RATIO} target)")
    print(f"sharded calls identical to by-hand (unsharded, FILTER aside): {same_calls}")
    print(f"BAM records identical to by-hand: {same_bam}")
    print("accuracy of genoflow's VCF against the truth (recall / precision):")
    for name, scores in result["scores"].items():  # type: ignore[attr-defined]
        row = ", ".join(
            f"{kind} {s['recall']:.4f} / {s['precision']:.4f}" for kind, s in scores.items()
        )
        print(f"  {'every call' if name == 'all' else 'PASS only':<10}  {row}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
