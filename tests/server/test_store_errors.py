"""A run store that cannot be written answers 503 in each API's error shape, in-process."""

from __future__ import annotations

from pathlib import Path

from genoflow.protocols.msgenomics import wire as msgen_wire
from genoflow.protocols.wes import wire as wes_wire
from genoflow.server.config import ServerConfig
from genoflow.server.store import RunStore
from tests.server.inproc import MSGEN, WES, sample_request, start_inproc
from tests.server.test_inproc import FullDiskStore


def test_store_unavailable_is_a_503_in_the_api_shape(tmp_path: Path) -> None:
    made: list[FullDiskStore] = []

    def full_disk_store(config: ServerConfig) -> RunStore:
        made.append(FullDiskStore(config.database, retry_delays=(0.0,)))
        return made[0]

    running = start_inproc(tmp_path / "srv", store=full_disk_store)
    try:
        made[0].full = True
        form = wes_wire.run_request_from_submit(sample_request(), "snapgatk").to_form()
        wes = running.client.post(WES, data=form)
        assert wes.status_code == 503 and wes.headers["Retry-After"]
        assert wes.json()["status_code"] == 503 and "disk" in wes.json()["msg"]
        body = msgen_wire.submit_body_from_request(sample_request(sample="S2"), "sample S2")
        old = running.client.post(
            MSGEN, content=body.to_json(), headers={"Content-Type": "application/json"}
        )
        assert old.status_code == 503 and "retry later" in old.json()["Message"]
        made[0].full = False
        assert running.client.post(WES, data=form).status_code == 200  # the disk has room again
    finally:
        running.server.scheduler.stop(timeout=5)
        running.server.store.close()
