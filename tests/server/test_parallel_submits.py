"""50 identical submits at once make exactly one run: through `genoflow submit` (50 processes)
and through raw HTTP on both APIs, against a live `genoflow server` on Azurite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData
from genoflow.model.submission import (
    InputKind,
    PipelineOptions,
    SubmitRequest,
    description_with_key,
)
from genoflow.protocols.msgenomics import wire as ms
from genoflow.protocols.wes import wire as wes
from genoflow.storage import open_store
from genoflow.storage.base import BlobStore
from genoflow.transfer import upload_file
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli_subprocess
from tests.server.conftest import API_KEY, REFERENCE, LiveServer, make_server

pytestmark = [pytest.mark.azurite, pytest.mark.slow]
PARALLEL = 50


@pytest.fixture(scope="module")
def one_slot_server(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite, demo_data: DemoData
) -> Iterator[LiveServer]:
    # One run slot: the first run of each test holds it, later ones stay queued (both hold keys).
    server = make_server(
        tmp_path_factory.mktemp("parallel"), azurite, demo_data, max_concurrent_runs=1
    )
    server.start()
    yield server
    server.stop()


def _store(azurite: Azurite) -> BlobStore:
    return open_store(
        StorageConfig(
            account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
        )
    )


def _upload_inputs(store: BlobStore, container: str, demo: DemoData) -> tuple[str, str]:
    store.ensure_container(container)
    for path in (demo.fastq_r1, demo.fastq_r2):
        upload_file(store, path, container, path.name)
    return demo.fastq_r1.name, demo.fastq_r2.name


def _runs(server: LiveServer) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{server.url}/api/workflows/", headers={ms.KEY_HEADER: API_KEY}, timeout=30
    )
    answer.raise_for_status()
    runs: list[dict[str, Any]] = answer.json()
    return runs


def _cancel_all(server: LiveServer) -> None:
    for run in _runs(server):
        requests.delete(
            f"{server.url}/api/workflows/{run['Id']}", headers={ms.KEY_HEADER: API_KEY}, timeout=30
        )


def test_fifty_parallel_genoflow_submits_make_one_run(
    one_slot_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    store = _store(azurite)
    first, second = _upload_inputs(store, f"{unique_name}-in", demo_data)
    env = {
        **one_slot_server.client_env(azurite, "msgenomics"),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{unique_name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{unique_name}-out",
    }
    before = {run["Id"] for run in _runs(one_slot_server)}

    def submit(protocol: str) -> tuple[int, str, str]:
        env_for = {**env, "GENOFLOW_SERVICE__PROTOCOL": protocol}
        proc = run_cli_subprocess(["submit", "-b1", first, "-b2", second, "--json"], env=env_for)
        return proc.returncode, proc.stdout, proc.stderr

    protocols = ["msgenomics", "wes"] * (PARALLEL // 2)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(submit, protocols))
    try:
        runs = [(r["Id"], r["Status"], r["Message"]) for r in _runs(one_slot_server)]
        for code, _, stderr in results:
            assert code == 0, (stderr, runs)
        ids = {json.loads(stdout.splitlines()[0])["run"]["id"] for _, stdout, _ in results}
        created = [run for run in _runs(one_slot_server) if run["Id"] not in before]
        assert len(created) == 1, created
        assert ids == {str(created[0]["Id"])}
    finally:
        _cancel_all(one_slot_server)


def _request(azurite: Azurite, store: BlobStore, container: str, names: tuple[str, str]) -> Any:
    key = "0123456789abcdef" * 2
    return SubmitRequest(
        sample="par",
        kind=InputKind.FASTQ,
        reads_1=(names[0],),
        reads_2=(names[1],),
        options=PipelineOptions(
            process_args=f"R={REFERENCE}", reference=REFERENCE, output_filename_base="par"
        ),
        input_account=AZURITE_ACCOUNT,
        input_container=container,
        output_account=AZURITE_ACCOUNT,
        output_container=f"{container}-out",
        input_sas={name: store.blob_read_sas(container, name, 1) for name in names},
        output_sas=store.container_sas(f"{container}-out", 1, "rwd"),
        input_account_url=azurite.account_url,
        output_account_url=azurite.account_url,
        submission_key=key,
    )


def test_fifty_parallel_http_submits_over_both_apis_make_one_run(
    one_slot_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    store = _store(azurite)
    container = f"{unique_name}-in"
    names = _upload_inputs(store, container, demo_data)
    request = _request(azurite, store, container, names)
    body = ms.submit_body_from_request(request, description_with_key("par", "0123456789abcdef" * 2))
    form = wes.run_request_from_submit(request, "snapgatk").to_form()
    before = {run["Id"] for run in _runs(one_slot_server)}

    def post(api: str) -> str:
        if api == "msgen":
            answer = requests.post(
                f"{one_slot_server.url}/api/workflows/",
                data=body.to_json(),
                headers={ms.KEY_HEADER: API_KEY, "Content-Type": "application/json"},
                timeout=60,
            )
            answer.raise_for_status()
            return str(answer.json()["Id"])
        answer = requests.post(
            f"{one_slot_server.url}/ga4gh/wes/v1/runs",
            files={key: (None, value) for key, value in form.items()},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=60,
        )
        answer.raise_for_status()
        return str(answer.json()["run_id"])

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        ids = set(pool.map(post, ["msgen", "wes"] * (PARALLEL // 2)))
    try:
        created = [run for run in _runs(one_slot_server) if run["Id"] not in before]
        assert len(created) == 1, created
        assert ids == {str(created[0]["Id"])}
    finally:
        _cancel_all(one_slot_server)
