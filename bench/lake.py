"""Benchmark: `genoflow lake add` and `genoflow lake report` on generated VCFs, on Azurite.

In one run:
  * generates S single-sample VCFs of V records each (bgzipped + indexed with pysam; samples
    share a pool of 3V sites, so unique variants < calls), cached under --data;
  * starts its own Azurite and a genoflow server app whose executor records each sample's VCF
    as its run's outputs (name, size, MD5), as a real run's would be;
  * reference for parsing speed: `bcftools view -H VCF | wc -l` over the same VCFs (rows/s);
  * `genoflow lake add RUN...` of all S runs in one child process: wall time (the VCFs fetched
    and MD5-checked, parsed, written, committed), rows/s, and its peak RSS (the process and its
    parsing workers, summed; sampled every 50 ms with psutil);
  * `genoflow lake report --json`: the time of each query as the report measures it;
  * the peak RSS of `lake add` of one bigger VCF (--big records), to show it does not grow
    with the VCF;
  * the load average before and after (the machine is shared).
Targets: lake add >= 100k rows/s, each report query <= 2 s, peak RSS <= 1 GiB.

    .venv/bin/python bench/lake.py                 # 50 samples x 100k records, --big 1000000
    .venv/bin/python bench/lake.py --samples 5 --variants 20000 --big 0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, start_azurite  # noqa: E402
from tests.lake.service import LakeService, publish, serving  # noqa: E402
from tests.lake.vcfgen import site_pool, write_vcf  # noqa: E402

from genoflow.config.schema import StorageConfig  # noqa: E402
from genoflow.storage import open_store  # noqa: E402


def vcfs(folder: Path, samples: int, variants: int) -> list[Path]:
    """S VCFs of V records (generated once per size, then reused)."""
    where = folder / f"{samples}x{variants}"
    paths = [where / f"S{index:03d}.vcf.gz" for index in range(samples)]
    if all(Path(f"{p}.tbi").exists() for p in paths):
        return paths
    where.mkdir(parents=True, exist_ok=True)
    pool = site_pool(3 * variants, seed=1)
    for index, path in enumerate(paths):
        write_vcf(path, path.name.split(".")[0], pool, variants, seed=index)
    return paths


def bcftools_rows(paths: list[Path]) -> tuple[int, float]:
    started = time.perf_counter()
    total = 0
    for path in paths:
        out = subprocess.run(
            f"bcftools view -H {path} | wc -l", shell=True, capture_output=True, check=True
        )
        total += int(out.stdout)
    return total, time.perf_counter() - started


def genoflow(env: dict[str, str], *args: str) -> tuple[str, float, int, int]:
    """stdout, wall seconds and peak RSS (bytes) of a `genoflow` child process: the largest
    sum, over its samples every 50 ms, of the RSS of the process and its parsing workers (shared
    pages counted in each), and the process's own."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "genoflow", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = [0, 0]
    watcher = threading.Thread(target=_watch, args=(child, peak), daemon=True)
    watcher.start()
    out, _ = child.communicate()
    seconds = time.perf_counter() - started
    watcher.join()
    if child.returncode != 0:
        raise SystemExit(f"genoflow {' '.join(args[:3])} failed")
    return out, seconds, peak[0], peak[1]


def _watch(child: subprocess.Popen[str], peak: list[int]) -> None:
    import psutil

    process = psutil.Process(child.pid)
    peak_tree: list[tuple[int, str, int]] = []
    while child.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            total = sum(_rss(p) for p in tree)
            if total > peak[0]:
                peak_tree[:] = [(p.pid, " ".join(p.cmdline())[-30:], _rss(p) >> 20) for p in tree]
            peak[0] = max(peak[0], total)
            peak[1] = max(peak[1], _rss(process))
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    if os.environ.get("LAKE_BENCH_DEBUG"):
        print(f"at the peak: {peak_tree}", file=sys.stderr)


def _rss(process: Any) -> int:
    import psutil

    try:
        return int(process.memory_info().rss)
    except psutil.NoSuchProcess:
        return 0


def environment(azurite: Azurite, service: LakeService, outputs: str, lake: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_"))}
    env.update(azurite.env())
    env.update(service.env())
    env.update(
        {
            "GENOFLOW_STORAGE__OUTPUT_CONTAINER": outputs,
            "GENOFLOW_STORAGE__INPUT_CONTAINER": outputs,
            "GENOFLOW_LAKE__CONTAINER": lake,
        }
    )
    return env


def submit(service: LakeService, store: Any, outputs: str, paths: list[Path]) -> list[str]:
    ids = []
    for path in paths:
        sample = path.name.split(".")[0]
        ids.append(service.run(sample, publish(store, outputs, path, f"{sample}/{sample}")).id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="records of the RSS run")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "gf-lake")
    args = parser.parse_args()
    load_before = os.getloadavg()
    paths = vcfs(args.data, args.samples, args.variants)
    rows, bcf_seconds = bcftools_rows(paths)
    with tempfile.TemporaryDirectory() as scratch:
        azurite = start_azurite(Path(scratch) / "azurite")
        try:
            with serving(Path(scratch) / "server") as service:
                result = run(args, azurite, service, paths)
        finally:
            azurite.stop()
    result.update(
        {
            "bcftools_rows": rows,
            "bcftools_rows_per_s": round(rows / bcf_seconds),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in os.getloadavg()],
        }
    )
    result["ratio_to_bcftools"] = round(result["add_rows_per_s"] / result["bcftools_rows_per_s"], 3)
    print_result(result)


def run(
    args: argparse.Namespace, azurite: Azurite, service: LakeService, paths: list[Path]
) -> dict[str, Any]:
    store = open_store(
        StorageConfig(
            account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
        )
    )
    store.ensure_container("bench-out")
    ids = submit(service, store, "bench-out", paths)
    env = environment(azurite, service, "bench-out", "bench-lake")
    out, seconds, rss, own = genoflow(env, "--json", "lake", "add", *ids)
    added = [json.loads(line) for line in out.splitlines()]
    records = sum(int(r["records"]) for r in added)
    report_out, report_wall, _, _ = genoflow(env, "--json", "lake", "report")
    report = json.loads(report_out)
    result: dict[str, Any] = {
        "samples": args.samples,
        "variants_per_sample": args.variants,
        "add_rows": records,
        "add_seconds": round(seconds, 2),
        "add_rows_per_s": round(records / seconds),
        "add_peak_rss_mib": round(rss / 2**20, 1),
        "add_peak_rss_parent_mib": round(own / 2**20, 1),
        "report_seconds": report["seconds"],
        "report_wall_seconds": round(report_wall, 2),
        "unique_variants": report["unique_variants"],
    }
    if args.big:
        big = vcfs(args.data, 1, args.big)
        big_ids = submit(service, store, "bench-out", big)
        _, big_seconds, big_rss, big_own = genoflow(env, "--json", "lake", "add", *big_ids)
        result.update(
            {
                "big_rows": args.big,
                "big_seconds": round(big_seconds, 2),
                "big_peak_rss_mib": round(big_rss / 2**20, 1),
                "big_peak_rss_parent_mib": round(big_own / 2**20, 1),
            }
        )
    return result


def print_result(result: dict[str, Any]) -> None:
    print(
        f"lake add: {result['add_rows']:,} rows in {result['add_seconds']} s = "
        f"{result['add_rows_per_s']:,} rows/s (target >= 100,000); peak RSS "
        f"{result['add_peak_rss_mib']} MiB with its workers, {result['add_peak_rss_parent_mib']} "
        "MiB alone"
    )
    print(
        f"bcftools view -H | wc -l: {result['bcftools_rows_per_s']:,} rows/s; "
        f"lake add / bcftools = {result['ratio_to_bcftools']}"
    )
    for name, secs in result["report_seconds"].items():
        print(f"report {name}: {secs} s (target <= 2 s)")
    if "big_rows" in result:
        print(
            f"lake add of one {result['big_rows']:,}-record VCF: {result['big_seconds']} s, "
            f"peak RSS {result['big_peak_rss_mib']} MiB with its workers (target <= 1024), "
            f"{result['big_peak_rss_parent_mib']} MiB alone"
        )
    print(f"load average before {result['load_before']}, after {result['load_after']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
