"""Cancel mid-run, server crash mid-run, bad inputs, auth: against a live server."""

from __future__ import annotations

import gzip
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.demo import DemoData, simulate
from genoflow.server.engine import group_members
from tests.harness import AZURITE_KEY, Azurite, run_cli, run_cli_subprocess
from tests.server.conftest import API_KEY, SECOND_KEY, LiveServer, make_server
from tests.server.test_e2e import _store, output_name

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


@pytest.fixture(scope="module")
def slow_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoData:
    """Enough reads that the engine runs for several seconds: time to cancel or crash it."""
    return simulate(
        tmp_path_factory.mktemp("slowdemo"),
        seed=5,
        reference_length=60_000,
        read_pairs=80_000,
        snvs=40,
        indels=10,
    )


@pytest.fixture
def server(tmp_path: Path, azurite: Azurite, slow_demo: DemoData) -> Iterator[LiveServer]:
    live = make_server(tmp_path / "srv", azurite, slow_demo, threads=1)
    live.start()
    yield live
    live.stop()
    log = live.log_text()
    for secret in (API_KEY, SECOND_KEY, AZURITE_KEY):
        assert secret not in log


def _env(server: LiveServer, azurite: Azurite, name: str) -> dict[str, str]:
    return {
        **server.client_env(azurite),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{name}-out",
    }


def _submit(env: dict[str, str], r1: Path, r2: Path, *extra: str) -> str:
    proc = run_cli_subprocess(["submit", "-b1", str(r1), "-b2", str(r2), "--json", *extra], env=env)
    assert proc.returncode == 0, proc.stderr
    return str(json.loads(proc.stdout.splitlines()[0])["run"]["id"])


def _status(env: dict[str, str], run_id: str) -> dict[str, object]:
    result = run_cli(["status", run_id, "--json"], env=env)
    document = json.loads(result.stdout)
    run = document[0] if isinstance(document, list) else document
    assert isinstance(run, dict)
    return run


def _engine_group(server: LiveServer, run_id: str, timeout: float = 60.0) -> int:
    """Wait until the run's engine is running; return its process group id."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(server.data_dir / "runs.sqlite") as db:
            row = db.execute("SELECT engine_pgid FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row and row[0] and len(group_members(row[0])) > 1:
            return int(row[0])
        time.sleep(0.1)
    raise AssertionError("the engine never started")


def _wait_state(
    env: dict[str, str], run_id: str, states: set[str], timeout: float = 120.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = _status(env, run_id)
        if run["state"] in states:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not reach {states}: {run}")


def _gone(pgid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_members(pgid):
            return True
        time.sleep(0.1)
    return False


def test_cancel_mid_run_stops_engine_and_writes_only_its_logs_zip(
    server: LiveServer, azurite: Azurite, slow_demo: DemoData, unique_name: str
) -> None:
    env = _env(server, azurite, unique_name)
    run_id = _submit(env, slow_demo.fastq_r1, slow_demo.fastq_r2)
    pgid = _engine_group(server, run_id)
    result = run_cli(["cancel", run_id], env=env)
    assert result.exit_code == 0, result.stderr
    run = _wait_state(env, run_id, {"cancelled"})
    assert run["state_name"] == "Cancelled"
    assert _gone(pgid), f"engine processes left: {group_members(pgid)}"
    # no output but the run's logs.zip, recorded and marked as a cancelled run's
    wire = _get(server, f"/api/workflows/{run_id}")
    (logs,) = wire["Outputs"]  # type: ignore[misc]
    blobs = list(_store(azurite).list_blobs(f"{unique_name}-out"))
    assert [blob.name for blob in blobs] == [logs["Name"]] and logs["Kind"] == "logs"
    assert blobs[0].metadata.get("genoflow_diagnostics") == "cancelled"
    assert wire["Status"] == 60000
    assert _get(server, f"/ga4gh/wes/v1/runs/{run_id}/status")["state"] == "CANCELED"
    # cancelling again is idempotent
    assert run_cli(["cancel", run_id], env=env).exit_code == 0


def test_server_killed_mid_run_recovers(
    server: LiveServer, azurite: Azurite, slow_demo: DemoData, unique_name: str
) -> None:
    env = _env(server, azurite, unique_name)
    run_id = _submit(env, slow_demo.fastq_r1, slow_demo.fastq_r2)
    pgid = _engine_group(server, run_id)
    server.kill()
    server.start()
    assert _gone(pgid), "the orphaned engine of the killed server was not stopped"
    run = _wait_state(env, run_id, {"succeeded", "failed"}, timeout=300)
    if run["state"] == "failed":
        assert "restart" in str(run["message"])
    else:
        assert output_name(azurite, f"{unique_name}-out", slow_demo.sample, ".bam")
    assert "re-queued after a server restart" in server.log_text()


def _get(server: LiveServer, path: str, key: str | None = API_KEY) -> dict[str, object]:
    request = urllib.request.Request(server.url + path)
    if key:
        request.add_header("Ocp-Apim-Subscription-Key", key)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _status_code(server: LiveServer, method: str, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        server.url + path, method=method, headers=headers, data=b"{}" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


ROUTES = [
    ("GET", "/api/workflows/"),
    ("POST", "/api/workflows/"),
    ("GET", "/api/workflows/1"),
    ("GET", "/api/workflows/1/logs"),
    ("DELETE", "/api/workflows/1"),
    ("GET", "/ga4gh/wes/v1/runs/1/logs/stderr"),
    ("GET", "/ga4gh/wes/v1/service-info"),
    ("GET", "/ga4gh/wes/v1/runs"),
    ("POST", "/ga4gh/wes/v1/runs"),
    ("GET", "/ga4gh/wes/v1/runs/1"),
    ("GET", "/ga4gh/wes/v1/runs/1/status"),
    ("GET", "/ga4gh/wes/v1/runs/1/tasks"),
    ("POST", "/ga4gh/wes/v1/runs/1/cancel"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]


def _oversized_post_status(server: LiveServer, headers: dict[str, str]) -> int:
    """The answer to a 2 MiB POST, read after its headers: the server answers 413 from the
    Content-Length and closes, so a client still writing the body could meet a broken pipe."""
    where = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=10)
    try:
        connection.putrequest("POST", "/api/workflows/")
        for name, value in {**headers, "Content-Type": "application/json"}.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_api_key_required_on_every_route_but_health(live_server: LiveServer) -> None:
    assert _status_code(live_server, "GET", "/health", {}) == 200
    for method, path in ROUTES:
        assert _status_code(live_server, method, path, {}) == 401, (method, path)
        wrong = {"Ocp-Apim-Subscription-Key": "wrong-key-000000"}
        assert _status_code(live_server, method, path, wrong) == 401, (method, path)
        bearer = {"Authorization": "Bearer wrong-key-000000"}
        assert _status_code(live_server, method, path, bearer) == 401, (method, path)
    good = {"Ocp-Apim-Subscription-Key": API_KEY}
    assert _status_code(live_server, "GET", "/openapi.json", good) == 200
    assert _oversized_post_status(live_server, good) == 413
    for key in (API_KEY, SECOND_KEY):  # both keys of a rotation pair work
        assert (
            _status_code(
                live_server, "GET", "/ga4gh/wes/v1/service-info", {"Authorization": f"Bearer {key}"}
            )
            == 200
        )
        assert (
            _status_code(live_server, "GET", "/api/workflows/", {"Ocp-Apim-Subscription-Key": key})
            == 200
        )


def _truncated_gzip(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def _drop_last_record(source: Path, target: Path) -> Path:
    with gzip.open(source, "rt") as handle:
        lines = handle.read().splitlines(keepends=True)
    with gzip.open(target, "wt") as handle:
        handle.writelines(lines[:-4])
    return target


def test_bad_inputs_fail_with_documented_messages(
    live_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str, tmp_path: Path
) -> None:
    env = _env(live_server, azurite, unique_name)
    store = _store(azurite)
    store.ensure_container(f"{unique_name}-in")
    cases = {
        "mismatched": (
            demo_data.fastq_r1,
            _drop_last_record(demo_data.fastq_r2, tmp_path / "short_2.fq.gz"),
            "308",
        ),
    }
    truncated = _truncated_gzip(demo_data.fastq_r1, tmp_path / "trunc_1.fq.gz")
    # the client's own pre-upload check refuses a broken local file; to test the *server*
    # checks, put the bad file in the container directly and submit blob names.
    from genoflow.transfer import upload_file

    for name, path in (("trunc_1.fq.gz", truncated), ("ok_2.fq.gz", demo_data.fastq_r2)):
        upload_file(store, path, f"{unique_name}-in", name)
    code_trunc = _server_failure(env, "trunc_1.fq.gz", "ok_2.fq.gz")
    assert code_trunc["failure_code"] is not None
    assert str(code_trunc["message"]).startswith("Error Code [")
    for label, (r1, r2, code) in cases.items():
        upload_file(store, r1, f"{unique_name}-in", f"{label}_1.fq.gz")
        upload_file(store, r2, f"{unique_name}-in", f"{label}_2.fq.gz")
        failed = _server_failure(env, f"{label}_1.fq.gz", f"{label}_2.fq.gz")
        assert f"Error Code [{code}]" in str(failed["message"]), failed
    not_fastq = tmp_path / "text_1.fq.gz"
    with gzip.open(not_fastq, "wt") as handle:
        handle.write("this is not a FASTQ file\n" * 10)
    upload_file(store, not_fastq, f"{unique_name}-in", "text_1.fq.gz")
    upload_file(store, demo_data.fastq_r2, f"{unique_name}-in", "text_2.fq.gz")
    failed = _server_failure(env, "text_1.fq.gz", "text_2.fq.gz")
    assert "Error Code [303]" in str(failed["message"])


def _server_failure(env: dict[str, str], r1: str, r2: str) -> dict[str, object]:
    proc = run_cli_subprocess(
        ["submit", "-b1", r1, "-b2", r2, "--wait", "--json", "--force", "-of", r1.split("_")[0]],
        env=env,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    run = json.loads(proc.stdout)["run"]  # one document: the submission, its run as it ended
    assert run["state"] == "failed"
    return run  # type: ignore[no-any-return]


def test_unknown_reference_is_refused_at_submit(
    live_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    env = {**_env(live_server, azurite, unique_name), "GENOFLOW_WORKFLOW__PROCESS_ARGS": "R=hg99"}
    proc = run_cli_subprocess(
        ["submit", "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2)], env=env
    )
    assert proc.returncode == 2, proc.stderr
    assert "Unknown reference 'hg99'" in proc.stderr and "demo" in proc.stderr


def test_existing_output_without_overwrite_fails(
    live_server: LiveServer, azurite: Azurite, demo_data: DemoData, unique_name: str
) -> None:
    """The CLI refuses before submitting; a client that does not check gets Error Code [101]."""
    from genoflow.config.schema import ServiceConfig
    from genoflow.model.submission import InputKind, PipelineOptions, SubmitRequest
    from genoflow.protocols import open_client
    from genoflow.transfer import upload_file
    from tests.harness import AZURITE_ACCOUNT
    from tests.server.conftest import REFERENCE

    env = _env(live_server, azurite, unique_name)
    store = _store(azurite)
    inp, out = f"{unique_name}-in", f"{unique_name}-out"
    store.ensure_container(out)
    upload_file(store, demo_data.reference, out, f"{demo_data.sample}.bam")
    args = ["submit", "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2), "--json"]
    # -of keeps its msgen meaning: the outputs are <base>.* in the container root
    refused = run_cli_subprocess([*args, "-of", demo_data.sample], env=env)
    assert refused.returncode == 2 and "already exist" in refused.stderr, refused.stderr

    store.ensure_container(inp)
    names = (demo_data.fastq_r1.name, demo_data.fastq_r2.name)
    for path in (demo_data.fastq_r1, demo_data.fastq_r2):
        upload_file(store, path, inp, path.name)
    request = SubmitRequest(
        sample=demo_data.sample,
        kind=InputKind.FASTQ,
        reads_1=names[:1],
        reads_2=names[1:],
        options=PipelineOptions(process_args=f"R={REFERENCE}", reference=REFERENCE),
        input_account=AZURITE_ACCOUNT,
        input_container=inp,
        output_account=AZURITE_ACCOUNT,
        output_container=out,
        input_sas={name: store.blob_read_sas(inp, name, 1) for name in names},
        output_sas=store.container_sas(out, 1, "rwd"),
        input_account_url=azurite.account_url,
        output_account_url=azurite.account_url,
    )
    client = open_client(
        ServiceConfig(protocol="msgenomics", url=live_server.url, api_key=live_server.api_key)
    )
    run = client.submit(request)
    deadline = time.monotonic() + 600
    while not run.state.terminal and time.monotonic() < deadline:
        time.sleep(0.5)
        run = client.get(run.id)
    assert run.message and "Output blob already exists" in run.message, run
    # nothing was replaced
    assert store.get_blob(out, f"{demo_data.sample}.bam").size == (
        demo_data.reference.stat().st_size
    )
