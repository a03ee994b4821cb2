"""Benchmark: tiering N blobs with genoflow's batch path vs one Set Blob Tier call per blob.

Starts its own Azurite (in memory), creates 2 x N small blobs, then in the same run:
  * baseline: a loop of N Set Blob Tier calls (azure-storage-blob, one blob at a time);
  * genoflow: apply_plan() on a plan for the other N blobs (Blob Batch, <=256 per request,
    a few batches in flight).
Prints both times, both HTTP request counts (counted by the SDK's request hook) and the ratios.
Targets: time ratio <= 0.25 and requests <= N/200. On Azurite the time ratio is bounded by the
emulator's own per-sub-request cost; on real Azure each request is a round trip, so the request
count decides.

    .venv/bin/python bench/tier.py [--blobs 5000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, azurite_executable, free_port  # noqa: E402


def start_azurite() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            azurite_executable(),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    from tests.harness import _answers

    deadline = time.monotonic() + 30
    while not _answers(url):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit("azurite did not start")
        time.sleep(0.2)
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=5000)
    args = parser.parse_args()
    n = args.blobs
    process, url = start_azurite()
    try:
        report = run(url, n)
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(json.dumps(report, indent=2))


def run(url: str, n: int) -> dict[str, object]:
    from azure.storage.blob import BlobServiceClient, StandardBlobTier

    from genoflow.config.schema import StorageConfig
    from genoflow.storage import open_store
    from genoflow.tiering.apply import apply_plan
    from genoflow.tiering.engine import Decision, Plan
    from genoflow.tiering.facts import BlobFacts

    loop_requests = 0

    def count(_: object) -> None:
        nonlocal loop_requests
        loop_requests += 1

    service = BlobServiceClient(
        url, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    )
    container = service.create_container("bench")
    names = [f"b/{i:06d}.bam" for i in range(2 * n)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda name: container.upload_blob(name, b"x"), names))
    loop_names, batch_names = names[:n], names[n:]

    started = time.perf_counter()
    for name in loop_names:
        container.get_blob_client(name).set_standard_blob_tier(
            StandardBlobTier.COOL, raw_request_hook=count
        )
    loop_seconds = time.perf_counter() - started

    store = open_store(
        StorageConfig(account_url=url, account_name=AZURITE_ACCOUNT, account_key=AZURITE_KEY)
    )
    now = datetime.now(timezone.utc)
    plan = Plan(
        decisions=[
            Decision(BlobFacts("bench", name, 1, "Hot", now), "Cool", "bench", "")
            for name in batch_names
        ]
    )
    before = sum(store.requests.values())
    started = time.perf_counter()
    result = apply_plan(plan, {"bench": store})
    batch_seconds = time.perf_counter() - started
    batch_requests = sum(store.requests.values()) - before

    tiers = {b.name: b.blob_tier for b in container.list_blobs()}
    assert result.ok and result.changed == n, result.errors
    assert all(tiers[name] == "Cool" for name in names), "a blob did not reach Cool"
    return {
        "blobs": n,
        "loop": {"seconds": round(loop_seconds, 3), "requests": loop_requests},
        "genoflow_batch": {"seconds": round(batch_seconds, 3), "requests": batch_requests},
        "time_ratio": round(batch_seconds / loop_seconds, 3),
        "request_ratio": round(batch_requests / loop_requests, 4),
        "targets": {"time_ratio": 0.25, "max_requests": n // 200},
        "meets_request_target": batch_requests <= n / 200,
        "meets_time_target": batch_seconds / loop_seconds <= 0.25,
    }


if __name__ == "__main__":
    main()
