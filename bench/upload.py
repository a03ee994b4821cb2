"""Upload benchmark: genoflow's upload against a plain ``BlobClient.upload_blob``, same run.

Generates a file (default 1 GiB), starts its own Azurite (or uses --account-url), then uploads
it alternately with ``genoflow upload`` (a child process, whose peak RSS is read from the
kernel's accounting of that child) and with ``BlobClient.upload_blob(max_concurrency=N)`` (the
baseline), ``--rounds`` times each, and prints the best MiB/s of each, their ratio and genoflow's
peak RSS. Azurite's absolute speed means little: compare the ratio.

    .venv/bin/python bench/upload.py --size-mib 1024 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.measure import wait_measured  # noqa: E402
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, start_azurite  # noqa: E402

MIB = 1024 * 1024
CONTAINER = "bench"


def make_file(path: Path, size_mib: int) -> None:
    chunk = os.urandom(16 * MIB)
    with path.open("wb") as out:
        left = size_mib * MIB
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


def genoflow_upload(
    path: Path, account_url: str, concurrency: int, prefix: str
) -> tuple[float, float]:
    """(MiB/s as genoflow reports it, peak RSS in MiB of the genoflow process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_"))}
    env.update(
        {
            "GENOFLOW_STORAGE__ACCOUNT_URL": account_url,
            "GENOFLOW_STORAGE__ACCOUNT_NAME": AZURITE_ACCOUNT,
            "GENOFLOW_STORAGE__ACCOUNT_KEY": AZURITE_KEY,
            "PYTHONPATH": str(ROOT / "src"),
        }
    )
    command = [
        sys.executable,
        "-m",
        "genoflow",
        "upload",
        str(path),
        "--container",
        CONTAINER,
        "--prefix",
        prefix,
        "--concurrency",
        str(concurrency),
        "--json",
    ]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        measured = wait_measured(
            subprocess.Popen(command, env=env, stdout=out, stderr=err), started
        )
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if measured.returncode != 0:
        raise SystemExit(f"genoflow upload failed ({measured.returncode}): {stderr.decode()}")
    [summary] = json.loads(stdout)  # one document: the list of files uploaded
    return float(summary["size"]) / MIB / float(summary["seconds"]), measured.peak_rss_mib


def baseline_upload(path: Path, account_url: str, concurrency: int, name: str) -> float:
    from azure.storage.blob import BlobServiceClient

    from genoflow.storage.azure_blob import make_transport

    service = BlobServiceClient(
        account_url,
        credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
        transport=make_transport(concurrency + 4),
    )
    blob = service.get_blob_client(CONTAINER, name)
    started = time.monotonic()
    with path.open("rb") as data:
        blob.upload_blob(data, overwrite=True, max_concurrency=concurrency)
    seconds = time.monotonic() - started
    service.close()
    return path.stat().st_size / MIB / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--account-url", help="an Azurite already running (devstoreaccount1)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="genoflow-bench-") as tmp:
        work = Path(tmp)
        azurite = None if args.account_url else start_azurite(work / "azurite")
        account_url = args.account_url or (azurite.account_url if azurite else "")
        try:
            run(args, work, account_url)
        finally:
            if azurite:
                azurite.stop()


def run(args: argparse.Namespace, work: Path, account_url: str) -> None:
    from genoflow.config.schema import StorageConfig
    from genoflow.storage import open_store

    open_store(
        StorageConfig(
            account_url=account_url, account_name=AZURITE_ACCOUNT, account_key=AZURITE_KEY
        )
    ).ensure_container(CONTAINER)
    source = work / "bench.bin"
    make_file(source, args.size_mib)
    ours: list[float] = []
    theirs: list[float] = []
    peak = 0.0
    for round_number in range(args.rounds):
        theirs.append(
            baseline_upload(source, account_url, args.concurrency, f"baseline-{round_number}.bin")
        )
        speed, rss = genoflow_upload(source, account_url, args.concurrency, f"r{round_number}")
        ours.append(speed)
        peak = max(peak, rss)
    best_ours, best_theirs = max(ours), max(theirs)
    print(f"file: {args.size_mib} MiB, concurrency {args.concurrency}, rounds {args.rounds}")
    print(
        f"genoflow upload:            {best_ours:8.1f} MiB/s  (all: "
        f"{', '.join(f'{s:.1f}' for s in ours)})"
    )
    print(
        f"baseline upload_blob:       {best_theirs:8.1f} MiB/s  (all: "
        f"{', '.join(f'{s:.1f}' for s in theirs)})"
    )
    print(f"ratio genoflow / baseline:  {best_ours / best_theirs:8.2f}  (target >= 0.9)")
    print(f"genoflow peak RSS:          {peak:8.1f} MiB  (target <= 300)")


if __name__ == "__main__":
    main()
