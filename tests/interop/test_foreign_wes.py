"""genoflow against third-party WES servers on loopback (installed by ``make test``): the
reference wes-server (cwltool) and Toil's WES server. ``genoflow reference upload`` then
``genoflow submit -b1 -b2 --wait`` sends the packed pipeline with a CWL job over Azurite SAS
URLs; ``genoflow fetch`` downloads the outputs the run's ``delivered`` output recorded and
checks their MD5s; the VCF records equal genoflow server's on the same data. What the
server keeps of the request holds only least-privilege, short-lived SAS. status / wait /
cancel work against Toil; wes-server's cancel, which does not stop cwltool, is reported."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData, simulate
from genoflow.errors import NotFoundError
from genoflow.model.outputs import QC_KINDS
from genoflow.storage import open_store
from genoflow.storage.base import BlobStore
from genoflow.storage.sas import parse_sas
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli
from tests.interop.conftest import (
    REFERENCE,
    WesServer,
    client_env,
    submit_and_fetch,
    vcf_records,
)

pytestmark = [pytest.mark.slow, pytest.mark.azurite, pytest.mark.pipeline]
SERVERS = ["wes_service", "toil_server", "sapporo_server"]
# Sapporo runs several engines and must be told one; the others need no setting.
ENGINE = {"sapporo_server": {"GENOFLOW_SERVICE__WORKFLOW_ENGINE": "cwltool"}}


def _store(azurite: Azurite) -> BlobStore:
    config = {"account_url": azurite.account_url, "account_name": AZURITE_ACCOUNT,
              "account_key": AZURITE_KEY}  # fmt: skip
    return open_store(StorageConfig.model_validate(config))


def _env(
    azurite: Azurite, server: WesServer, tmp: Path, name: str, sample: DemoData
) -> dict[str, str]:
    """The CLI's settings for ``server``, with the sample's reference uploaded to Blob."""
    env = client_env(azurite, server.url, name, tmp)
    done = run_cli(["reference", "upload", REFERENCE, str(sample.reference)], env=env)
    assert done.exit_code == 0, done.stderr
    return env


def _blob_names(azurite: Azurite, container: str) -> list[str]:
    try:
        return [blob.name for blob in _store(azurite).list_blobs(container)]
    except NotFoundError:
        return []


def _run_log(server: WesServer, run_id: str) -> dict[str, Any]:
    answer = requests.get(f"{server.url}/ga4gh/wes/v1/runs/{run_id}", timeout=30)
    answer.raise_for_status()
    return dict(answer.json())


def _delivered(log: dict[str, Any]) -> list[dict[str, Any]]:
    """The pipeline's delivered output: in ``outputs`` (Toil, wes-server), or in the engine's
    output object given as the run's stdout (Sapporo, whose ``outputs`` lists files)."""
    if isinstance(log["outputs"], dict):
        return list(log["outputs"]["delivered"])
    return list(json.loads(log["run_log"]["stdout"])["delivered"])


def _sas_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(url.partition("?")[2]).items()}


def _check_least_privilege(job: dict[str, Any], submitted: datetime) -> None:
    """Every SAS the server keeps: read on one blob (inputs, reference files), create + write
    on the output container without read, list or delete; all expire within 3 h (1.5 x the
    1 h expected for a tiny sample)."""
    files = [v for value in job.values() for v in (value if isinstance(value, list) else [value])
             if isinstance(v, dict) and v.get("class") == "File"]  # fmt: skip
    assert len(files) == 10  # two FASTQs, the FASTA and its seven index files
    latest = submitted + timedelta(hours=1.5, minutes=5)
    for file in files:
        scope = parse_sas(file["location"].partition("?")[2])
        assert (scope.resource, scope.permissions) == ("blob", "r"), file["location"][:80]
        assert datetime.fromisoformat(str(scope.expiry).replace("Z", "+00:00")) <= latest
    output = parse_sas(job["output_url"].partition("?")[2])
    assert (output.resource, output.permissions) == ("container", "cw")
    assert datetime.fromisoformat(str(output.expiry).replace("Z", "+00:00")) <= latest
    assert "sp" in _sas_of(job["output_url"]) and "sig" in _sas_of(job["output_url"])


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_submit_wait_fetch_gives_genoflow_servers_calls(
    server_fixture: str,
    request: pytest.FixtureRequest,
    azurite: Azurite,
    genoflow_vcf: list[str],
    interop_sample: DemoData,
    tmp_path: Path,
    unique_name: str,
) -> None:
    server: WesServer = request.getfixturevalue(server_fixture)
    env = {**_env(azurite, server, tmp_path, unique_name, interop_sample),
           **ENGINE.get(server_fixture, {})}  # fmt: skip
    submitted = datetime.now(timezone.utc)
    run_id, vcf = submit_and_fetch(env, interop_sample, tmp_path / "fetched")
    assert vcf_records(vcf) == genoflow_vcf

    log = _run_log(server, run_id)
    outputs = {item["name"]: item for item in _delivered(log)}
    store = _store(azurite)
    for name, item in outputs.items():  # in the output container, as the run recorded them
        blob = store.get_blob(f"{unique_name}-out", name)
        assert (blob.size, blob.md5) == (item["size"], item["md5"])
    kinds = sorted(item["kind"] for item in outputs.values())
    assert kinds == sorted(["bai", "bam", "logs", "vcf", *QC_KINDS])  # the qc step's too
    _check_least_privilege(log["request"]["workflow_params"], submitted)

    shown = run_cli(["logs", run_id], env=env)
    assert shown.exit_code == 0 and shown.stdout.strip(), shown.stderr
    assert "sig=" not in shown.stdout.replace("sig=***", "")


def _submit(env: dict[str, str], sample: DemoData, name: str) -> str:
    done = run_cli(
        ["submit", "-b1", str(sample.fastq_r1), "-b2", str(sample.fastq_r2),
         "--sample", name, "--json"],
        env=env,
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr[-3000:]
    return str(json.loads(done.stdout)["run"]["id"])


def _status(env: dict[str, str], run_id: str) -> tuple[int, str]:
    done = run_cli(["status", run_id, "--json"], env=env)
    return done.exit_code, str(json.loads(done.stdout)[0]["state"])


@pytest.mark.parametrize("server_fixture", ["toil_server", "sapporo_server"])
def test_status_wait_and_cancel(
    server_fixture: str, request: pytest.FixtureRequest, azurite: Azurite,
    interop_sample: DemoData, tmp_path: Path, unique_name: str,
) -> None:  # fmt: skip
    server: WesServer = request.getfixturevalue(server_fixture)
    env = {**_env(azurite, server, tmp_path, unique_name, interop_sample),
           **ENGINE.get(server_fixture, {})}  # fmt: skip
    run_id = _submit(env, interop_sample, "CANCELLED")
    code, state = _status(env, run_id)
    for _ in range(3):  # Sapporo rewrites state.txt in place: a read between its truncate and
        if state != "unknown":  # its write says UNKNOWN (WES's "state not known")
            break
        time.sleep(0.2)
        code, state = _status(env, run_id)
    assert (code, state) in ((10, "queued"), (20, "running"))
    cancelled = run_cli(["cancel", run_id], env=env)
    assert cancelled.exit_code == 0, cancelled.stderr
    assert "cancellation requested" in cancelled.stderr
    waited = run_cli(["wait", run_id, "--timeout", "180"], env=env)
    assert waited.exit_code == 4, waited.stderr
    assert _status(env, run_id) == (4, "cancelled")
    again = run_cli(["cancel", run_id], env=env)  # idempotent
    assert again.exit_code == 0 and "nothing to cancel" in again.stderr


def test_a_server_that_ignores_cancel_is_reported(
    wes_service: WesServer, azurite: Azurite, tmp_path: Path, unique_name: str
) -> None:
    # a sample that keeps cwltool busy for longer than the client watches after a cancel
    longer = simulate(tmp_path / "longer", seed=17, reference_length=200_000, coverage=30,
                      snvs=80, indels=16)  # fmt: skip
    env = {**_env(azurite, wes_service, tmp_path, unique_name, longer),
           "GENOFLOW_SERVICE__CANCEL_WAIT": "3"}  # fmt: skip
    run_id = _submit(env, longer, "NOTCANCELLED")
    cancelled = run_cli(["cancel", run_id], env=env)
    assert cancelled.exit_code == 6, cancelled.stderr
    assert "accepted the cancel but did not carry it out" in cancelled.stderr
    # and indeed: the run goes on to its end
    waited = run_cli(["wait", run_id, "--timeout", "300"], env=env)
    assert waited.exit_code == 0, waited.stderr


@pytest.mark.parametrize(
    ("server_fixture", "setting", "value", "reason"),
    [
        ("toil_server", "GENOFLOW_SERVICE__WORKFLOW_ENGINE", "cwltool",
         "offers the workflow engines toil, not 'cwltool'"),
        ("toil_server", "GENOFLOW_WORKFLOW__PROCESS_ARGS", "R=hg38m1",
         "reference 'hg38m1' is not in container"),
        ("sapporo_server", "GENOFLOW_SERVICE__WORKFLOW_ENGINE", "",
         "runs several workflow engines (cromwell, cwltool, ep3, nextflow, snakemake"),
    ],
)  # fmt: skip
def test_refused_before_anything_is_uploaded(
    server_fixture: str, request: pytest.FixtureRequest, azurite: Azurite,
    interop_sample: DemoData, tmp_path: Path, unique_name: str, setting: str, value: str,
    reason: str,
) -> None:  # fmt: skip
    server: WesServer = request.getfixturevalue(server_fixture)
    env = {**_env(azurite, server, tmp_path, unique_name, interop_sample), setting: value}
    runs_before = _runs(server)
    done = run_cli(["submit", "-b1", str(interop_sample.fastq_r1), "-b2",
                    str(interop_sample.fastq_r2)], env=env)  # fmt: skip
    assert done.exit_code == 2 and reason in done.stderr, done.stderr
    assert "uploaded" not in done.stderr
    assert _blob_names(azurite, f"{unique_name}-in") == []
    assert _runs(server) == runs_before


def _runs(server: WesServer) -> list[str]:
    answer = requests.get(f"{server.url}/ga4gh/wes/v1/runs", timeout=30).json()
    return sorted(run["run_id"] for run in answer.get("workflows", answer.get("runs", [])))
