"""Pipeline benchmark: the server end to end vs the same tools run directly, plus accuracy.

    .venv/bin/python bench/pipeline.py                      # 500 000 read pairs
    .venv/bin/python bench/pipeline.py --read-pairs 100000 --threads 2

On a generated sample (``genoflow.demo.simulate``; the reference is sized for ~30x unless
--reference-length is given) it measures

* the server's end-to-end wall time: the run's creation (submit) to its end (every output written
  to blob storage), as the server records it, on a private local stack (Azurite + genoflow
  server, started and stopped here);
* the wall time of the very same tool scripts (read from the CWL tools by
  ``genoflow.pipelines.direct``) run by bash on the same FASTQ, reference and thread count;
* their ratio (target <= 1.15), and recall/precision for SNVs and indels of the server's VCF
  against the truth VCF (and of the direct VCF, which must agree).

Reference indexing is excluded from both sides: the server has it built at registration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.15


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    work = Path(args.dir or tempfile.mkdtemp(prefix="genoflow-bench-")).absolute()
    work.mkdir(parents=True, exist_ok=True)
    data = _dataset(work, args)
    server_seconds, upload_seconds, server_vcf = _server_side(work, data, args)
    loads = {"server": os.getloadavg()[1]}  # 5-minute load: other work on the machine skews
    direct_seconds, direct_vcf = _direct(work, data, args.threads)
    loads["direct"] = os.getloadavg()[0]
    _report(args, data, server_seconds, upload_seconds, direct_seconds, server_vcf, direct_vcf)
    _say(
        f"load average while measuring: server ~{loads['server']:.1f}, "
        f"direct ~{loads['direct']:.1f} (on {os.cpu_count()} CPUs)"
    )
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--read-pairs", type=int, default=500_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--coverage", type=float, default=30.0, help="sizes the reference")
    parser.add_argument("--reference-length", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
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


def _server_side(work: Path, data: Any, args: argparse.Namespace) -> tuple[float, float, Path]:
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
        started = time.monotonic()
        _cli([*base, "upload", str(data.fastq_r1), str(data.fastq_r2)], env)
        upload_seconds = time.monotonic() - started
        _say(f"uploaded in {upload_seconds:.1f} s; submitting and waiting")
        documents = _cli(
            [
                *base,
                "submit",
                "-b1",
                str(data.fastq_r1),
                "-b2",
                str(data.fastq_r2),
                "--wait",
                "--force",
            ],
            env,
        )
        run = next(d for d in documents if isinstance(d, list))[0]
        if run["state"] != "succeeded":
            raise SystemExit(f"run {run['id']} ended {run['state']}: {run.get('message')}")
        seconds = (
            datetime.fromisoformat(run["ended"]) - datetime.fromisoformat(run["created"])
        ).total_seconds()
        fetched = _cli(
            [*base, "fetch", run["id"], "-o", str(work / "server-out"), "--only", "vcf"], env
        )
        vcf = next(Path(f["path"]) for f in fetched[0]["files"] if ".vcf" in f["path"])
        return seconds, upload_seconds, vcf
    finally:
        if not args.keep_stack:
            stack.down()


def _cli(command: list[str], env: dict[str, str]) -> list[Any]:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[3:6])}... exited {done.returncode}: {done.stderr.strip()[-500:]}"
        )
    return [json.loads(line) for line in done.stdout.splitlines() if line[:1] in "{["]


def _direct(work: Path, data: Any, threads: int) -> tuple[float, Path]:
    """The workflow's own tool scripts, run by bash, on a reference indexed beforehand."""
    from genoflow.pipelines import build_job, prepare_reference
    from genoflow.pipelines.direct import write_direct_script

    reference = prepare_reference(data.reference, work / "direct-ref")
    job = build_job(  # as the server builds it (executor._run_pipeline)
        reference=reference,
        sample=data.sample,
        fastq_pairs=[(data.fastq_r1, data.fastq_r2)],
        threads=threads,
        caller="bcftools",
        base=data.sample,
    )
    script = write_direct_script(job, work / "direct")
    _say("running the same tools directly")
    started = time.monotonic()
    subprocess.run(["bash", str(script)], check=True)
    return time.monotonic() - started, work / "direct" / f"{data.sample}.vcf"


def _report(
    args: argparse.Namespace,
    data: Any,
    server: float,
    upload: float,
    direct: float,
    server_vcf: Path,
    direct_vcf: Path,
) -> None:
    from genoflow.demo import evaluate

    scores = evaluate(server_vcf, data.truth_vcf, data.reference)
    direct_scores = evaluate(direct_vcf, data.truth_vcf, data.reference)
    ratio = server / direct
    result = {
        "read_pairs": data.read_pairs,
        "threads": args.threads,
        "server_seconds": round(server, 1),
        "direct_seconds": round(direct, 1),
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "upload_seconds": round(upload, 1),
        "snv": {"recall": round(scores.snv.recall, 4), "precision": round(scores.snv.precision, 4)},
        "indel": {
            "recall": round(scores.indel.recall, 4),
            "precision": round(scores.indel.precision, 4),
        },
        "direct_vcf_agrees": direct_scores == scores,
    }
    if args.json:
        print(json.dumps(result))
        return
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(f"read pairs          {data.read_pairs} ({args.threads} threads)")
    print(
        f"server end to end   {server:.1f} s (submit -> outputs written; upload before: "
        f"{upload:.1f} s)"
    )
    print(f"direct pipeline     {direct:.1f} s (same tool scripts, bash)")
    print(f"ratio               {ratio:.3f} ({verdict} the {TARGET_RATIO} target)")
    print("accuracy of the server's VCF against the truth:")
    print("\n".join("  " + row for row in scores.summary().splitlines()))
    print(f"direct VCF scores the same: {direct_scores == scores}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
