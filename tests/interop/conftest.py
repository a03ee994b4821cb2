"""Third-party WES servers on loopback, as their own packages run them (no Docker here):

- the GA4GH reference ``wes-server`` (wes-service 5, cwltool backend: ``--opt runner=cwltool
  --opt extra=--no-container``), from .venv-wes (``make wes``);
- Toil's WES server (``toil server --bypass_celery``, toil-cwl-runner with ``--no-container``),
  from .venv-toil (``make toil``: ``toil[cwl,server,aws]``).

Each suite gets Azurite (the session's), a tiny simulated sample and genoflow's CLI configured
for ``service.protocol: wes`` against the server; genoflow server runs the same data once for
the VCF every foreign run must match.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from genoflow.demo import DemoData, simulate
from tests.harness import ROOT, Azurite, free_port

WES_SERVER = ROOT / ".venv-wes" / "bin" / "wes-server"
TOIL = ROOT / ".venv-toil" / "bin" / "toil"
CWLTOOL = ROOT / ".venv" / "bin" / "cwltool"
SAPPORO = ROOT / ".venv-sapporo" / "bin" / "sapporo"
REFERENCE = "demo"
# Sapporo's stock run_cwltool() runs cwltool in a Docker container; here it runs on the host.
SAPPORO_CWLTOOL = """function run_cwltool() {
    # no Docker here: cwltool on the host, the tools from PATH (written by tests/interop)
    local -a cmd_arr=("${CWLTOOL}" --no-container --outdir "${outputs_dir}"
        --tmpdir-prefix "${tmp_dir}/")
    _append_engine_params cmd_arr
    cmd_arr+=("${wf_url}" "${wf_params}")
    cd "${exe_dir}"  # a relative workflow_url names an attachment staged here
    _write_and_run cmd_arr
}

"""


@dataclass
class WesServer:
    """A third-party WES server process (its own process group, stopped by its pid)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/ga4gh/wes/v1/service-info", timeout=2)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not answer in {timeout:g} s: {self.log_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(
    name: str, command: Sequence[str], work: Path, port: int, bin_dir: Path = TOIL.parent
) -> WesServer:
    work.mkdir(parents=True, exist_ok=True)
    log = work / f"{name}.log"
    path = f"{bin_dir}:{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "CWLTOOL": str(CWLTOOL)}
    process = subprocess.Popen(
        list(command),
        cwd=work,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    server = WesServer(name, port, process, log)
    server.wait_ready()
    return server


@pytest.fixture(scope="module")
def wes_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesServer]:
    """The reference wes-server running cwltool without containers."""
    if not WES_SERVER.exists():
        pytest.skip("wes-server is not installed ('make wes' installs it in .venv-wes)")
    port = free_port()
    command = [
        str(WES_SERVER), "--backend=wes_service.cwl_runner", f"--port={port}",
        f"--opt=runner={CWLTOOL}", "--opt=extra=--no-container",
    ]  # fmt: skip
    server = start_server("wes-server", command, tmp_path_factory.mktemp("wes-server"), port)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def toil_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesServer]:
    """Toil's WES server running toil-cwl-runner under the server (no Celery broker)."""
    if not TOIL.exists() or not (TOIL.parent / "toil-cwl-runner").exists():
        pytest.skip("Toil is not installed ('make toil' installs toil[cwl,server,aws])")
    work = tmp_path_factory.mktemp("toil-server")
    port = free_port()
    command = [
        str(TOIL), "server", "--bypass_celery", "--host=127.0.0.1", f"--port={port}",
        f"--work_dir={work / 'workflows'}", "-w", "1", "--opt=--no-container",
        "--opt=--disableProgress",
    ]  # fmt: skip
    server = start_server("toil-server", command, work, port)
    yield server
    server.stop()


def sapporo_run_sh(work: Path) -> Path:
    """The package's own run.sh with run_cwltool() calling cwltool on the host."""
    (stock,) = SAPPORO.parent.parent.glob("lib/python*/site-packages/sapporo/run.sh")
    text = stock.read_text()
    start, end = text.find("function run_cwltool() {"), text.find("function run_nextflow() {")
    assert 0 < start < end, f"{stock} has no run_cwltool() before run_nextflow()"
    run_sh = work / "run.sh"
    run_sh.write_text(text[:start] + SAPPORO_CWLTOOL + text[end:])
    run_sh.chmod(0o755)
    return run_sh


@pytest.fixture(scope="module")
def sapporo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesServer]:
    """Sapporo (several engines: genoflow must be told one) with cwltool on the host."""
    if not SAPPORO.exists() or shutil.which("jq") is None:
        pytest.skip("Sapporo is not installed ('make sapporo'; its run.sh needs jq)")
    work = tmp_path_factory.mktemp("sapporo")
    (work / "runs").mkdir()
    port = free_port()
    command = [
        str(SAPPORO), "--host", "127.0.0.1", "--port", str(port), "--run-dir",
        str(work / "runs"), "--run-sh", str(sapporo_run_sh(work)), "--url-prefix",
        "/ga4gh/wes/v1",
    ]  # fmt: skip
    server = start_server("sapporo", command, work, port, SAPPORO.parent)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def interop_sample(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """A tiny simulated sample (60 kb reference, 20x): every engine runs it in seconds."""
    return simulate(
        tmp_path_factory.mktemp("interop-demo"),
        seed=13,
        reference_length=60_000,
        coverage=20,
        snvs=60,
        indels=12,
    )


def client_env(azurite: Azurite, url: str, name: str, state: Path) -> dict[str, str]:
    """genoflow's CLI against ``url`` over WES, with containers of its own."""
    return {
        **azurite.env(),
        "GENOFLOW_SERVICE__URL": url,
        "GENOFLOW_SERVICE__PROTOCOL": "wes",
        "GENOFLOW_SERVICE__POLL_INTERVAL": "1",
        "GENOFLOW_SERVICE__POLL_MAX_INTERVAL": "3",
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{name}-out",
        "GENOFLOW_STORAGE__REFERENCE_CONTAINER": f"{name}-ref",
        "GENOFLOW_WORKFLOW__PROCESS_ARGS": f"R={REFERENCE}",
        "GENOFLOW_STATE_DIR": str(state / "state"),
        "GENOFLOW_CACHE_DIR": str(state / "cache"),
    }


def vcf_records(path: Path) -> list[str]:
    """The VCF's records (headers name tools, dates and inputs: they may differ by engine)."""
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def submit_and_fetch(env: dict[str, str], sample: DemoData, dest: Path) -> tuple[str, Path]:
    """``genoflow submit -b1 -b2 --wait`` then ``genoflow fetch``: (run id, the fetched VCF)."""
    from tests.harness import run_cli

    done = run_cli(
        ["submit", "-b1", str(sample.fastq_r1), "-b2", str(sample.fastq_r2), "--wait", "--json"],
        env=env,
    )
    assert done.exit_code == 0, done.stderr[-3000:]
    run_id = str(json.loads(done.stdout.splitlines()[0])["run"]["id"])
    fetched = run_cli(["fetch", run_id, "-o", str(dest), "--only", "vcf", "--json"], env=env)
    assert fetched.exit_code == 0, fetched.stderr[-2000:]
    (vcf,) = [Path(f["path"]) for f in json.loads(fetched.stdout)["files"]]
    return run_id, vcf


@pytest.fixture(scope="session")
def genoflow_vcf(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite, interop_sample: DemoData
) -> list[str]:
    """The VCF records genoflow server calls on the interop sample: what every engine must
    produce from the same data."""
    from tests.server.conftest import make_server

    work = tmp_path_factory.mktemp("genoflow-baseline")
    server = make_server(work / "server", azurite, interop_sample)
    server.start()
    try:
        env = {
            **server.client_env(azurite, "wes"),
            "GENOFLOW_STORAGE__INPUT_CONTAINER": "baseline-in",
            "GENOFLOW_STORAGE__OUTPUT_CONTAINER": "baseline-out",
            "GENOFLOW_STATE_DIR": str(work / "state"),
        }
        _, vcf = submit_and_fetch(env, interop_sample, work / "fetched")
    finally:
        server.stop()
    records = vcf_records(vcf)
    assert len(records) > 50  # the simulated variants were called
    return records
