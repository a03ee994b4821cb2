"""Real ``genoflow lake add`` processes: one SIGKILLed while it writes leaves the tables readable
at their previous version; two at once (different runs, then the same run) both succeed and the
tables hold each run exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.harness import ROOT
from tests.lake.conftest import LakeCase
from tests.lake.helpers import rows, table
from tests.lake.test_add import bcftools_records

pytestmark = [pytest.mark.azurite, pytest.mark.slow]


def start_add(case: LakeCase, *run_ids: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_"))}
    env.update(case.env())
    return subprocess.Popen(
        [sys.executable, "-m", "genoflow", "--json", "lake", "add", *run_ids],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> list[dict[str, object]]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    records: list[dict[str, object]] = json.loads(out)  # one document: the list of runs
    return records


def test_a_kill_midway_leaves_the_previous_version(case: LakeCase, vcf_dir: Path) -> None:
    small = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    assert finish(start_add(case, small.id))[0]["status"] == "added"
    version, before = table(case, "calls").version(), rows(case)
    runs_version = table(case, "runs").version()

    big = case.sample_run(vcf_dir / "BIG1.vcf.gz")
    process = start_add(case, big.id)
    assert process.stderr is not None
    read = 0
    for line in process.stderr:  # the first progress line: a second into writing the calls
        if "records read" in line:
            read += 1
            workers = psutil.Process(process.pid).children(recursive=True)
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert read == 1 and process.returncode == -signal.SIGKILL, "finished before the kill"
    _, alive = psutil.wait_procs(workers, timeout=20)
    assert alive == [], f"parsing workers outlived the killed add: {alive}"

    calls = table(case, "calls")
    assert calls.version() == version
    assert rows(case) == before  # readable, at its previous version
    assert table(case, "runs").version() == runs_version

    result = finish(start_add(case, big.id))[0]
    assert result["status"] == "added"
    assert rows(case) == before + result["records"]
    assert table(case, "calls").version() == version + 1


def test_two_adds_at_once_both_succeed(case: LakeCase, vcf_dir: Path) -> None:
    first = case.sample_run(vcf_dir / "NA12878.vcf.gz")
    second = case.sample_run(vcf_dir / "NA12891.vcf.gz")
    both = [start_add(case, first.id), start_add(case, second.id)]  # tables not there yet
    results = [finish(p)[0] for p in both]
    assert [r["status"] for r in results] == ["added", "added"]
    assert rows(case) == sum(int(r["records"]) for r in results)
    assert_each_run_once(case, results)

    third = case.sample_run(vcf_dir / "NA12892.vcf.gz")
    same = [start_add(case, third.id), start_add(case, third.id)]
    statuses = sorted(str(finish(p)[0]["status"]) for p in same)
    # One wrote the calls; the other found them there, and either found the run's record too
    # or wrote it first (the writer commits calls, then the record: the other may fall between).
    assert statuses[0] == "added", statuses
    assert statuses[1] in ("already in the lake", "record completed"), statuses
    per_run = Counter(
        table(case, "calls").to_pyarrow_table(columns=["runId"]).column(0).to_pylist()
    )
    assert per_run[f"{third.service}:{third.id}"] == bcftools_records(vcf_dir / "NA12892.vcf.gz")
    assert rows(case, "runs") == 3
    commits = [c for c in table(case, "calls").history() if c.get("genoflow.run")]
    assert Counter(c["genoflow.run"] for c in commits) == Counter(
        {f"{r.service}:{r.id}": 1 for r in (first, second, third)}
    )


def assert_each_run_once(case: LakeCase, results: list[dict[str, object]]) -> None:
    records = table(case, "runs").to_pyarrow_table().to_pylist()
    assert sorted(r["runId"] for r in records) == sorted(str(r["run"]) for r in results)
    per_run = Counter(
        table(case, "calls").to_pyarrow_table(columns=["runId"]).column(0).to_pylist()
    )
    assert per_run == {str(r["run"]): r["records"] for r in results}


def test_many_batches_stay_bounded(case: LakeCase, vcf_dir: Path) -> None:
    """The BIG1 VCF (~400k records) in batches of 65,536 rows: peak RSS of the add process."""
    run = case.sample_run(vcf_dir / "BIG1.vcf.gz")
    process = start_add(case, run.id)
    started = time.monotonic()
    peak = _peak_rss(process)
    result = finish(process)[0]
    assert result["records"] == bcftools_records(vcf_dir / "BIG1.vcf.gz")
    assert peak < 1024 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"
    print(f"400k records in {time.monotonic() - started:.1f} s, peak RSS {peak / 2**20:.0f} MiB")


def _peak_rss(process: subprocess.Popen[str]) -> int:
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    return peak
