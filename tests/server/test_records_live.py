"""A live server running the real pipeline on Azurite records what it committed and keeps the
run's log: both protocol clients read the same outputs, whose sizes and MD5s are those of the
blobs written, and the run's log while it runs and after its work dir is gone."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from genoflow.config.schema import Protocol, ServiceConfig
from genoflow.demo import DemoData
from genoflow.model.outputs import QC_KINDS
from genoflow.model.runs import Run
from genoflow.protocols import ServiceClient, open_client
from genoflow.transfer import download_blob
from tests.harness import Azurite
from tests.server.conftest import LiveServer
from tests.server.test_deadlines import _submit_azurite
from tests.server.test_e2e import _store

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


def clients(server: LiveServer) -> dict[str, ServiceClient]:
    return {
        protocol: open_client(
            ServiceConfig(protocol=Protocol(protocol), url=server.url, api_key=server.api_key)
        )
        for protocol in ("msgenomics", "wes")
    }


def wait_ended(client: ServiceClient, run_id: str, timeout: float = 600) -> tuple[Run, str]:
    """The finished run and the log as followed while it ran (offset by offset)."""
    followed, offset = "", 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(run_id)
        text, offset = client.logs(run_id, offset)
        followed += text
        if run.state.terminal:
            text, offset = client.logs(run_id, offset)
            return run, followed + text
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not end in {timeout}s")


def check_recorded(azurite: Azurite, run: Run, tmp_path: Path) -> dict[str, Path]:
    """Each recorded output is the blob as written: same size, same MD5 of its bytes.
    Returns where each kind was downloaded."""
    store = _store(azurite)
    local: dict[str, Path] = {}
    for output in run.outputs:
        assert output.container is not None
        target = tmp_path / output.kind
        local[output.kind] = Path(download_blob(store, output.container, output.name, target).path)
        data = local[output.kind].read_bytes()
        assert (output.size, output.md5) == (len(data), hashlib.md5(data).hexdigest()), output
    return local


def test_outputs_and_log_of_a_real_run_over_both_protocols(
    live_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    run_id = str(_submit_azurite(live_server, azurite, demo_data, unique_name))
    by = clients(live_server)
    run, followed = wait_ended(by["wes"], run_id)
    assert run.state.value == "succeeded", run.message
    assert {o.kind for o in run.outputs} == {"bam", "bai", "vcf", "logs", *QC_KINDS}
    assert {o.container for o in run.outputs} == {f"{unique_name}-out"}
    assert by["msgenomics"].get(run_id).outputs == run.outputs
    check_recorded(azurite, run, tmp_path)
    assert "input checks passed" in followed and "engine exited with 0" in followed
    assert "[job align]" in followed  # the engine's stderr, as it ran
    assert not (live_server.data_dir / "work" / run_id).exists()  # gone; the log is kept
    assert (
        by["msgenomics"].logs(run_id)
        == by["wes"].logs(run_id)
        == (followed, len(followed.encode()))
    )
    sid = by["wes"].service_identity()
    assert sid.startswith("gf-") and by["msgenomics"].service_identity() == sid == run.service
