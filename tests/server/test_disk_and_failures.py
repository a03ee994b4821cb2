"""Disk and engine failures on a live server with real tools: work dirs removed after success,
the free-space check before a run, disk full while downloading (a real small tmpfs), and a tool
that fails in the aligner named with its exit status and log tail."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.demo import DemoData, simulate
from tests.harness import Azurite, tmpfs
from tests.server.conftest import LiveServer, make_server
from tests.server.test_deadlines import _submit_azurite, _wait_ended
from tests.server.test_e2e import _store

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture
def small_disk_server(
    request: pytest.FixtureRequest, tmp_path: Path, azurite: Azurite, demo_data: DemoData
) -> Iterator[LiveServer]:
    """A server whose work/ is a tmpfs of the size the test's parameter says."""
    size, extra = request.param
    live = make_server(tmp_path / "srv", azurite, demo_data, **extra)
    with tmpfs(live.data_dir / "work", size):
        try:
            live.start()
            yield live
        finally:
            live.stop()


@pytest.mark.parametrize("small_disk_server", [("64m", {"min_free_disk_gib": 1})], indirect=True)
def test_too_little_free_space_fails_before_download(
    small_disk_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    run_id = _submit_azurite(small_disk_server, azurite, demo_data, unique_name)
    failed, _ = _wait_ended(small_disk_server, run_id, timeout=60)
    message = str(failed["Message"])
    assert failed["Status"] == 50000, failed
    assert message.startswith("Error Code [104]: not enough disk space in "), message
    assert "needed ~1.0 GiB, free 64.0 MiB" in message, message
    assert not list((small_disk_server.data_dir / "work" / str(run_id)).glob("inputs/*"))


@pytest.mark.parametrize(
    "small_disk_server",
    [("512k", {"min_free_disk_gib": 0, "disk_space_factor": 0})],
    indirect=True,
)
def test_disk_full_while_downloading_names_the_step(
    small_disk_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    run_id = _submit_azurite(small_disk_server, azurite, demo_data, unique_name)
    failed, _ = _wait_ended(small_disk_server, run_id, timeout=60)
    message = str(failed["Message"])
    assert failed["Status"] == 50000, failed
    assert message.startswith("Error Code [104]: disk full in "), message
    assert f"while downloading input {demo_data.fastq_r1.name}" in message, message
    assert "No space left on device" in message


@pytest.fixture
def broken_index_server(
    tmp_path: Path, azurite: Azurite, demo_data: DemoData
) -> Iterator[LiveServer]:
    """The reference's bwa index truncated: bwa mem crashes in the align step."""
    live = make_server(tmp_path / "srv", azurite, demo_data)
    (bwt,) = (live.data_dir / "references").rglob("*.bwt")
    bwt.write_bytes(bwt.read_bytes()[:100])
    live.start()
    yield live
    live.stop()


def test_tool_failure_names_step_exit_status_and_log_tail(
    broken_index_server: LiveServer,
    azurite: Azurite,
    demo_data: DemoData,
    unique_name: str,
    tmp_path: Path,
) -> None:
    server = broken_index_server
    run_id = _submit_azurite(server, azurite, demo_data, unique_name)
    failed, _ = _wait_ended(server, run_id, timeout=300)
    message = str(failed["Message"])
    assert failed["Status"] == 50000, failed
    assert message.startswith(
        "Error Code [600]: the pipeline failed in step align (exit status "
    ), message
    assert "last lines of align.log: " in message, message
    assert "bwa" in message.split("align.log: ", 1)[1], message
    assert len(message) <= 1000 and "\n" not in message
    assert "sig=" not in message
    # a failed run keeps its logs (keep_failed_workdirs) but not its inputs
    workdir = server.data_dir / "work" / str(run_id)
    assert (workdir / "engine.stderr").is_file()
    assert not (workdir / "inputs").exists()
    _diagnosable(server, azurite, str(run_id), tmp_path)


def _diagnosable(server: LiveServer, azurite: Azurite, run_id: str, tmp_path: Path) -> None:
    """The failed run's logs.zip is recorded (both APIs) and holds the aligner's log; its log,
    read through either client, shows the aligner's stderr and the failure, redacted."""
    import zipfile

    from tests.server.test_records_live import check_recorded, clients

    by = clients(server)
    run = by["wes"].get(run_id)
    (logs,) = run.outputs
    assert logs.kind == "logs" and logs.name.endswith(".logs.zip")
    assert by["msgenomics"].get(run_id).outputs == run.outputs
    local = check_recorded(azurite, run, tmp_path)
    blob = _store(azurite).get_blob(str(logs.container), logs.name)
    assert blob.metadata.get("genoflow_diagnostics") == "failed"
    with zipfile.ZipFile(local["logs"]) as archive:
        names = archive.namelist()
        assert "genoflow.log" in names and any("align" in n for n in names), names
        assert "Error Code [600]" in archive.read("genoflow.log").decode()
    text, _ = by["msgenomics"].logs(run_id)
    assert "--- align.log (the failing step's log) ---" in text, text[-2000:]
    assert "[M::bwa_idx_load_from_disk]" in text.split("failing step's log", 1)[1]  # bwa stderr
    assert "Error Code [600]" in text and "sig=" not in text.replace("sig=***", "")


@pytest.mark.parametrize(
    "small_disk_server",
    [("3m", {"min_free_disk_gib": 0, "disk_space_factor": 0})],  # inputs fit, the BAM does not
    indirect=True,
)
def test_disk_full_in_the_pipeline_names_the_step(
    small_disk_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    run_id = _submit_azurite(small_disk_server, azurite, demo_data, unique_name)
    failed, _ = _wait_ended(small_disk_server, run_id, timeout=120)
    message = str(failed["Message"])
    assert failed["Status"] == 50000, failed
    assert message.startswith("Error Code [104]: disk full in "), message
    assert "while running the pipeline (step align)" in message, message


def _tool_pid(name: str, under: Path, timeout: float = 120.0) -> int:
    """The pid of a running ``name`` process whose working directory is under ``under``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                ours = (
                    entry.name.isdigit()
                    and (entry / "comm").read_text().strip() == name
                    and os.readlink(entry / "cwd").startswith(str(under.resolve()))
                )
            except OSError:
                continue
            if ours:
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError(f"{name} never ran under {under}")


def test_killed_aligner_is_named_with_a_memory_hint(
    tmp_path: Path, azurite: Azurite, unique_name: str
) -> None:
    """bwa SIGKILLed mid-run (what the kernel's OOM killer does): the message says so."""
    demo = simulate(tmp_path / "demo", seed=5, reference_length=60_000, read_pairs=80_000)
    server = make_server(tmp_path / "srv", azurite, demo, threads=1)
    server.start()
    try:
        run_id = _submit_azurite(server, azurite, demo, unique_name)
        os.kill(_tool_pid("bwa", server.data_dir / "work"), signal.SIGKILL)
        failed, _ = _wait_ended(server, run_id, timeout=120)
    finally:
        server.stop()
    message = str(failed["Message"])
    assert failed["Status"] == 50000, failed
    assert "the pipeline failed in step align (exit status " in message, message
    assert (
        "(exit status 1; a tool in it was killed (SIGKILL), most likely out of memory)" in message
    ), message
