"""Transfer benchmark: genoflow against AzCopy, both directions, on the same Azurite, alternating.

Makes a gzipped FASTQ (default 1 GiB, ``reads_R1.fq.gz``, many gzip members as bgzip writes),
starts its own Azurite (on disk, as the tests do), installs AzCopy from the npm package in
package.json (``node_modules/@azure-tools/azcopy-linux``; the OS package ``libsecret-1-0`` is
installed with apt-get when running as root), then per round, alternating who goes first:

- upload: ``azcopy copy FILE URL --from-to LocalBlob --put-md5`` and ``genoflow upload FILE``
  (whose whole-file gzip check runs, since the name ends in .gz);
- upload of the very same bytes named ``reads.bin`` (no gzip check): what the check costs;
- download: ``azcopy copy URL OUT --from-to BlobLocal --check-md5 FailIfDifferent`` and
  ``genoflow download`` (ranges, in-order MD5, verification against Content-MD5).

Times are wall clock of each child process (start-up included, both tools: genoflow's modules
are byte-compiled first, as an installed wheel's are, since the test environment may set
PYTHONDONTWRITEBYTECODE); genoflow's peak RSS is its process's own high-water mark (``VmHWM``,
sampled: see bench/measure.py). Prints best MiB/s per tool and direction, the ratios, the peak
RSS and the load average around each measurement (the machine may be shared: rerun when it is
quiet).

    .venv/bin/python bench/transfer.py --size-mib 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.measure import wait_measured  # noqa: E402
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, start_azurite  # noqa: E402

MIB = 1024 * 1024
CONTAINER = "bench"
AZCOPY = ROOT / "node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64"
_BASES = bytes(b"ACGT"[i % 4] for i in range(256))
_QUALS = bytes(b"5:?CFI"[i % 6] for i in range(256))


@dataclass
class Figures:
    """MiB/s per (tool, direction), and the load averages seen."""

    speeds: dict[str, list[float]] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)
    peak_rss: dict[str, float] = field(default_factory=dict)  # genoflow's, per direction
    cpu: dict[str, list[float]] = field(default_factory=dict)  # genoflow's CPU-s per GiB

    def add(self, key: str, mib_per_s: float) -> None:
        self.speeds.setdefault(key, []).append(mib_per_s)
        self.loads.append(os.getloadavg()[0])

    def best(self, key: str) -> float:
        return max(self.speeds[key])


def ensure_azcopy(work: Path) -> Path:
    """An executable copy of the npm package's binary (shipped without the x bit)."""
    if not AZCOPY.exists():
        raise SystemExit("AzCopy missing: run 'npm ci' (package.json lists it)")
    _ensure_libsecret()
    binary = work / "azcopy"
    shutil.copy(AZCOPY, binary)
    binary.chmod(0o755)
    return binary


def _ensure_libsecret() -> None:
    if subprocess.run(["dpkg", "-s", "libsecret-1-0"], capture_output=True).returncode == 0:
        return
    if os.geteuid() != 0:
        raise SystemExit("AzCopy needs libsecret-1-0: sudo apt-get install -y libsecret-1-0")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "libsecret-1-0"],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def make_fastq_gz(path: Path, size_mib: int) -> None:
    """Random 150 bp reads, gzip level 1 in 16 MiB members, until ``size_mib`` is reached."""
    target = size_mib * MIB
    written, number = 0, 0
    with path.open("wb") as out:
        while written < target:
            text = _fastq_text(number, 60_000)
            number += 60_000
            member = zlib.compressobj(1, zlib.DEFLATED, 31)
            data = member.compress(text) + member.flush()
            out.write(data)
            written += len(data)


def _fastq_text(first: int, count: int) -> bytes:
    bases = os.urandom(150 * count).translate(_BASES)
    quals = os.urandom(150 * count).translate(_QUALS)
    lines = []
    for i in range(count):
        seq = bases[i * 150 : (i + 1) * 150]
        qual = quals[i * 150 : (i + 1) * 150]
        lines.append(b"@bench:%d 1:N:0:ACGT\n%s\n+\n%s\n" % (first + i, seq, qual))
    return b"".join(lines)


def container_sas() -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        AZURITE_ACCOUNT,
        CONTAINER,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, add=True, create=True, write=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=2),
    )


def timed(command: list[str], env: dict[str, str], logs: Path) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds) of one child process; exits on its failure."""
    with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
        started = time.monotonic()
        measured = wait_measured(
            subprocess.Popen(command, env=env, stdout=out, stderr=err), started
        )
    if measured.returncode != 0:
        tail = (logs / "stderr").read_text(errors="replace")[-2000:]
        tail += (logs / "stdout").read_text(errors="replace")[-2000:]
        raise SystemExit(
            f"{Path(command[0]).name} {command[1:4]} failed ({measured.returncode}): {tail}"
        )
    return measured.seconds, measured.peak_rss_mib, measured.cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="genoflow's --concurrency (its default: 16)"
    )
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="Azurite on CPU 0 and the two tools on CPU 1, as when the storage service runs on "
        "other machines than the client (needs 2 CPUs)",
    )
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "src" / "genoflow", quiet=1)
    with tempfile.TemporaryDirectory(prefix="genoflow-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        azcopy = ensure_azcopy(work)
        azurite = start_azurite(work / "azurite")
        try:
            Bench(args, work, azurite, azcopy).run()
        finally:
            azurite.stop()


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, azurite: Azurite, azcopy: Path):
        self.args, self.work, self.azurite, self.azcopy = args, work, azurite, azcopy
        self.figures = Figures()
        self.sas = container_sas()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZ"))}
        self.env.update(
            {
                "GENOFLOW_STORAGE__ACCOUNT_URL": azurite.account_url,
                "GENOFLOW_STORAGE__ACCOUNT_NAME": AZURITE_ACCOUNT,
                "GENOFLOW_STORAGE__ACCOUNT_KEY": AZURITE_KEY,
                "PYTHONPATH": str(ROOT / "src"),
                "AZCOPY_LOG_LOCATION": str(work / "azlogs"),
                "AZCOPY_JOB_PLAN_LOCATION": str(work / "azplans"),
                "AZCOPY_DISABLE_SYSLOG": "true",
            }
        )

    def run(self) -> None:
        from genoflow.config.schema import StorageConfig
        from genoflow.storage import open_store

        store = open_store(StorageConfig.model_validate(self._storage()))
        store.ensure_container(CONTAINER)
        source = self.work / "reads_R1.fq.gz"
        make_fastq_gz(source, self.args.size_mib)
        plain = self.work / "reads.bin"
        os.link(source, plain)
        size_mib = source.stat().st_size / MIB
        if self.args.pin:
            pin_apart(self.azurite)
        print(f"file: {size_mib:.0f} MiB gzipped FASTQ; load average at start {_load()}")
        for number in range(self.args.rounds):
            self.round(number, source, plain, size_mib)
        self.report(size_mib)

    def _storage(self) -> dict[str, str]:
        return {
            "account_url": self.azurite.account_url,
            "account_name": AZURITE_ACCOUNT,
            "account_key": AZURITE_KEY,
        }

    def round(self, number: int, source: Path, plain: Path, size_mib: float) -> None:
        ours_first = number % 2 == 1
        up = [("azcopy up", self.azcopy_up), ("genoflow up", self.genoflow_up)]
        down = [("azcopy down", self.azcopy_down), ("genoflow down", self.genoflow_down)]
        for pair in (up, down):
            for key, step in reversed(pair) if ours_first else pair:
                seconds = step(number, source)
                self.figures.add(key, size_mib / seconds)
                self._cpu(key, size_mib)
        # the same bytes without the check, right after the upload with it (same conditions)
        self.figures.add("genoflow up, no gzip check", size_mib / self.genoflow_up(number, plain))
        self._cpu("genoflow up, no gzip check", size_mib)
        print(f"round {number + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in self._last()))

    def _cpu(self, key: str, size_mib: float) -> None:
        if key.startswith("genoflow"):
            self.figures.cpu.setdefault(key, []).append(self._last_cpu / (size_mib / 1024))

    def _last(self) -> list[tuple[str, list[float]]]:
        return sorted(self.figures.speeds.items())

    def _url(self, name: str) -> str:
        return f"{self.azurite.account_url}/{CONTAINER}/{name}?{self.sas}"

    def azcopy_up(self, number: int, source: Path) -> float:
        command = [str(self.azcopy), "copy", str(source), self._url(f"az{number}/{source.name}")]
        command += ["--from-to", "LocalBlob", "--put-md5", "--log-level", "ERROR"]
        return timed(command, self.env, self.work)[0]

    _last_cpu = 0.0

    def azcopy_down(self, number: int, source: Path) -> float:
        out = self.work / "out-azcopy" / source.name
        out.parent.mkdir(exist_ok=True)
        out.unlink(missing_ok=True)
        command = [str(self.azcopy), "copy", self._url(f"az{number}/{source.name}"), str(out)]
        command += ["--from-to", "BlobLocal", "--check-md5", "FailIfDifferent"]
        command += ["--log-level", "ERROR"]
        return timed(command, self.env, self.work)[0]

    def genoflow_up(self, number: int, source: Path) -> float:
        command = [sys.executable, "-m", "genoflow", "upload", str(source), "-c", CONTAINER]
        command += ["-p", f"gf{number}", "-n", str(self.args.concurrency), "--json"]
        seconds, rss, self._last_cpu = timed(command, self.env, self.work)
        self._rss("upload", rss)
        return seconds

    def _rss(self, direction: str, rss: float) -> None:
        peaks = self.figures.peak_rss
        peaks[direction] = max(peaks.get(direction, 0.0), rss)

    def genoflow_down(self, number: int, source: Path) -> float:
        out = self.work / "out-genoflow"
        (out / source.name).unlink(missing_ok=True)
        command = [sys.executable, "-m", "genoflow", "download", f"gf{number}/{source.name}"]
        command += ["-c", CONTAINER, "-o", str(out), "-n", str(self.args.concurrency), "--json"]
        seconds, rss, self._last_cpu = timed(command, self.env, self.work)
        self._rss("download", rss)
        return seconds

    def report(self, size_mib: float) -> None:
        figures = self.figures
        for key, speeds in self._last():
            shown = ", ".join(f"{s:.1f}" for s in speeds)
            print(f"{key:28} best {max(speeds):7.1f} MiB/s  (all: {shown})")
        up = figures.best("genoflow up") / figures.best("azcopy up")
        down = figures.best("genoflow down") / figures.best("azcopy down")
        check = figures.best("genoflow up") / figures.best("genoflow up, no gzip check")
        for direction in ("up", "down"):
            ours, theirs = (
                figures.speeds[f"genoflow {direction}"],
                figures.speeds[f"azcopy {direction}"],
            )
            rounds = ", ".join(f"{a / b:.2f}" for a, b in zip(ours, theirs, strict=True))
            print(f"same-round ratios {direction:4}: {rounds}")
        print(f"ratio upload genoflow / AzCopy:    {up:5.2f}  (target >= 1.0)")
        print(f"ratio download genoflow / AzCopy:  {down:5.2f}  (target >= 1.0)")
        print(f"upload with / without gzip check:  {check:5.2f}  (inflater: {_inflater()})")
        peaks = ", ".join(f"{k} {v:.1f} MiB" for k, v in sorted(figures.peak_rss.items()))
        print(f"genoflow peak RSS at {size_mib:.0f} MiB: {peaks} (<= 300)")
        for key, values in sorted(figures.cpu.items()):
            shown = ", ".join(f"{v:.1f}" for v in values)
            print(f"{key:28} CPU-s per GiB: {shown}")
        print(f"CPUs: {os.cpu_count()}")
        loads = figures.loads
        print(f"load average (1 min) during the runs: {min(loads):.2f}-{max(loads):.2f}")


def pin_apart(azurite: Azurite) -> None:
    """Every thread of Azurite's processes on CPU 0; this process (and so the tools it starts
    from now on) on CPU 1."""
    import psutil

    service = psutil.Process(azurite.process.pid)
    for process in (service, *service.children(recursive=True)):
        for thread in process.threads():
            os.sched_setaffinity(thread.id, {0})
    os.sched_setaffinity(0, {1})
    print("pinned: Azurite on CPU 0, genoflow and AzCopy on CPU 1")


def _inflater() -> str:
    from genoflow.transfer.gzcheck import INFLATE

    return str(INFLATE.__name__)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
