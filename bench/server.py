"""Server benchmark: list and submit look-up cost as the run store grows (issue 11).

    .venv/bin/python bench/server.py                   # 100, 1,000 and 10,000 runs
    .venv/bin/python bench/server.py --sizes 100 10000 --repeat 50

For each size it fills a fresh run store directly through ``RunStore`` (most runs succeeded, each
with a submission key), starts a real ``genoflow server`` subprocess on it, and prints the p50
latency (one keep-alive connection) of

* an old-API ``$top=50`` list (newest first),
* the submit look-up ``$filter=substringof('[gf:KEY]', Description)``,
* a WES list page (``page_size=50``),
* ``GET /health``,

and how many HTTP requests the protocol clients' ``find_by_key`` makes (msgen and WES). It ends
with the ratio largest/smallest store (target <= 2x, request counts constant) and the /health
p50 (target <= 5 ms). It prints ratios; it is not a timed test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from genoflow.config.schema import Protocol, ServiceConfig
from genoflow.model.runs import RunState
from genoflow.model.submission import key_mark
from genoflow.protocols import open_client
from genoflow.server.store import RunStore

API_KEY = "bench-api-key-3f9a1c7e"
HEADERS = {"Ocp-Apim-Subscription-Key": API_KEY}
TARGET_RATIO = 2.0
TARGET_HEALTH_MS = 5.0


def key_of(number: int) -> str:
    return f"{number:032x}"


def fill_store(data_dir: Path, runs: int) -> None:
    store = RunStore(data_dir / "runs.sqlite")
    for number in range(1, runs + 1):
        key = key_of(number)
        sample = f"S{number}"
        request = {
            "submit": {
                "sample": sample,
                "input_sas": {f"{sample}_1.fq.gz": "", f"{sample}_2.fq.gz": ""},
                "output_sas": "",
            }
        }
        protocol = "wes" if number % 2 else "msgenomics"
        run = store.create(
            protocol,
            request,
            description=f"sample {sample} {key_mark(key)}" if protocol == "msgenomics" else "",
            process="snapgatk-genoflow",
            tags={"genoflow-key": key, "sample": sample},
            submission_key=key,
        )
        store.update(run.id, state=RunState.SUCCEEDED, outputs={"bam": {"name": f"{sample}.bam"}})
    store.close()


class CountingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.count += 1
        return super().request(*args, **kwargs)


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    fasta = data_dir / "demo.fa"
    fasta.write_text(">chr1\nACGT\n")
    config = {"data_dir": str(data_dir), "api_keys": [API_KEY], "references": {"demo": str(fasta)}}
    (data_dir / "server.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_"))}
    command = [sys.executable, "-m", "genoflow", "-f", str(data_dir / "server.yaml"), "server"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=(data_dir / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not answer /health")


def p50_ms(session: requests.Session, url: str, params: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = session.get(url, params=params, headers=HEADERS, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return statistics.median(times)


def lookup_requests(url: str, protocol: Protocol, key: str) -> int:
    session = CountingSession()
    service = ServiceConfig(protocol=protocol, url=url, api_key=API_KEY)
    client = open_client(service, session=session)
    found = client.find_by_key(key)
    if found is None:
        raise RuntimeError(f"{protocol.value} find_by_key did not find {key}")
    return session.count


def measure(size: int, work: Path, port: int, repeat: int) -> dict[str, float]:
    data_dir = work / f"runs-{size}"
    data_dir.mkdir(parents=True)
    fill_store(data_dir, size)
    process = start_server(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    msgen, wes = f"{base}/api/workflows/", f"{base}/ga4gh/wes/v1/runs"
    middle = size // 2 or 1
    key = key_of(middle if middle % 2 == 0 else middle + 1)  # an old-API run
    try:
        with requests.Session() as session:
            newest = {"$orderby": "CreatedDate desc"}
            return {
                "list $top=50": p50_ms(session, msgen, {**newest, "$top": "50"}, repeat),
                "key look-up": p50_ms(
                    session,
                    msgen,
                    {**newest, "$filter": f"substringof('{key_mark(key)}', Description)"},
                    repeat,
                ),
                "WES page": p50_ms(session, wes, {"page_size": "50"}, repeat),
                "/health": p50_ms(session, f"{base}/health", {}, repeat * 4),
                "msgen find_by_key requests": lookup_requests(base, Protocol.msgenomics, key),
                "WES find_by_key requests": lookup_requests(base, Protocol.wes, key_of(1)),
            }
    finally:
        process.terminate()
        process.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--port", type=int, default=18431)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="genoflow-bench-server-"))
    try:
        results = {size: measure(size, work, args.port, args.repeat) for size in args.sizes}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    metrics = list(next(iter(results.values())))
    print(f"{'metric':28}" + "".join(f"{size:>12,}" for size in args.sizes) + "       ratio")
    for metric in metrics:
        values = [results[size][metric] for size in args.sizes]
        ratio = values[-1] / values[0] if values[0] else float("inf")
        cells = "".join(f"{v:>12.0f}" if "requests" in metric else f"{v:>10.2f}ms" for v in values)
        print(f"{metric:28}{cells}{ratio:>11.2f}x")
    worst = max(
        results[args.sizes[-1]][m] / results[args.sizes[0]][m]
        for m in ("list $top=50", "key look-up", "WES page")
    )
    health = max(results[size]["/health"] for size in args.sizes)
    counts = {results[s][m] for s in args.sizes for m in metrics if "requests" in m}
    print(
        f"\nlargest/smallest store: {worst:.2f}x (target <= {TARGET_RATIO}x); find_by_key "
        f"requests: {sorted(counts)} (constant: {len(counts) == 1}); /health p50 "
        f"{health:.2f} ms (target <= {TARGET_HEALTH_MS} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
