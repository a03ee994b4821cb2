"""Service identity: one stable id per server data dir, cheap to learn over both protocols, and
every Run a client returns is named by it (issue 12: two servers' run 1 never confused)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from genoflow.errors import ConfigError
from genoflow.protocols.base import url_identity
from genoflow.protocols.extensions import SERVICE_ID_HEADER
from genoflow.server.identity import SERVICE_ID_FILE, service_id
from tests.server.inproc import API_KEY, MSGEN, WES, InProc, sample_request, start_inproc
from tests.server.inproc_http import inproc_client

ID_RE = re.compile(r"^gf-[0-9a-f]{12}$")


def test_id_is_created_once_and_kept_across_restarts(inproc: InProc) -> None:
    first = inproc.server.service.service_id
    assert first is not None and ID_RE.match(first)
    path = inproc.data_dir / SERVICE_ID_FILE
    assert path.read_text().strip() == first
    inproc.restart()
    assert inproc.server.service.service_id == first
    info = inproc.client.get("/ga4gh/wes/v1/service-info").json()
    assert info["tags"]["service_id"] == first


def test_two_data_dirs_have_two_ids_and_a_damaged_file_is_refused(tmp_path: Path) -> None:
    one, two = service_id(tmp_path / "a"), service_id(tmp_path / "b")
    assert one != two and service_id(tmp_path / "a") == one
    (tmp_path / "a" / SERVICE_ID_FILE).write_text("not-an-id\n")
    with pytest.raises(ConfigError, match="not a service id"):
        service_id(tmp_path / "a")


def test_both_apis_name_the_server_on_every_run_and_answer(inproc: InProc) -> None:
    sid = inproc.server.service.service_id
    empty = inproc.client.get(MSGEN, params={"$top": "0"})
    assert empty.json() == [] and empty.headers[SERVICE_ID_HEADER] == sid
    run_id = inproc.submit_msgen(sample_request()).json()["Id"]
    inproc.wait_state(run_id, "succeeded")
    assert inproc.client.get(f"{MSGEN}{run_id}").json()["ServiceId"] == sid
    assert inproc.client.get(f"{WES}/{run_id}").json()["service_id"] == sid
    assert inproc.client.get(WES).json()["runs"][0]["service_id"] == sid


@pytest.mark.parametrize("protocol", ["msgenomics", "wes"])
def test_clients_learn_the_identity_and_fill_run_service(inproc: InProc, protocol: str) -> None:
    sid = inproc.server.service.service_id
    client = inproc_client(inproc.anonymous(), protocol, API_KEY)
    assert client.service_identity() == sid  # no run yet: still the server's own id
    submitted = client.submit(sample_request(sample="C1"))
    assert submitted.service == sid
    inproc.wait_state(submitted.id, "succeeded")
    assert client.get(submitted.id).service == sid
    assert {run.service for run in client.list()} == {sid}


def test_a_second_server_is_another_service(tmp_path: Path, inproc: InProc) -> None:
    other = start_inproc(tmp_path / "other")
    try:
        ids = {
            inproc_client(server.anonymous(), "wes", API_KEY).service_identity()
            for server in (inproc, other)
        }
        assert len(ids) == 2
    finally:
        other.server.scheduler.stop(timeout=5)
        other.server.store.close()


def test_a_foreign_service_is_named_by_its_normalised_url() -> None:
    same = {
        url_identity(url)
        for url in (
            "https://WES.example.org/ga4gh/wes/v1",
            "https://wes.example.org:443/ga4gh/wes/v1/",
            "https://wes.example.org/ga4gh/wes/v1//",
        )
    }
    assert len(same) == 1 and re.match(r"^url-[0-9a-f]{8}$", same.pop())
    assert url_identity("http://wes.example.org:8080") != url_identity("http://wes.example.org")
