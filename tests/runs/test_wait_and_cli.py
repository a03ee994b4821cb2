"""wait (fake clock), and the list/status/wait/cancel/submit commands in-process against a
`responses` fake of the service. Validation failures must send nothing."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from genoflow.errors import WaitTimeoutError
from genoflow.model.runs import Run, RunState
from genoflow.orchestration.runs import Waiter, parse_range
from genoflow.protocols.msgenomics import wire as ms
from tests.harness import run_cli
from tests.protocols.fakes import FakeMsGenomics
from tests.protocols.helpers import FakeClock, make_client

ENV = {
    "GENOFLOW_SERVICE__URL": "http://ms.test",
    "GENOFLOW_SERVICE__API_KEY": "test-subscription-key-123",
    "GENOFLOW_SERVICE__PROTOCOL": "msgenomics",
}


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def fake(mock) -> FakeMsGenomics:
    return FakeMsGenomics(mock)


# --- wait ---------------------------------------------------------------------------------


class ScriptedClient:
    """Answers get() from a script of states per call; ``None`` is an outage."""

    def __init__(self, script: list[RunState | None]) -> None:
        self.script = script
        self.calls = 0

    def get(self, run_id: str) -> Run:
        from genoflow.errors import UnavailableError

        state = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if state is None:
            raise UnavailableError("service down")
        return Run(id=run_id, state=state)


def test_wait_backs_off_and_survives_outages():
    clock = FakeClock()
    script = [RunState.QUEUED, RunState.RUNNING, None, None, RunState.RUNNING, RunState.SUCCEEDED]
    changes: list[str] = []
    waiter = Waiter(
        ScriptedClient(script),
        5,
        60,
        clock=clock.time,
        sleep=clock.sleep,
        on_change=lambda run: changes.append(run.state.value),
    )
    runs = waiter.wait(["7"])
    assert runs[0].state is RunState.SUCCEEDED
    assert clock.sleeps == [0.5] * 5  # a young run is polled every half second
    assert changes == ["queued", "running", "succeeded"]


def test_wait_polls_a_long_run_less_often_but_never_late_by_more_than_half_a_percent():
    clock = FakeClock()
    waiter = Waiter(ScriptedClient([RunState.RUNNING]), 5, 60, clock=clock.time, sleep=clock.sleep)
    with pytest.raises(WaitTimeoutError):
        waiter.wait(["7"], timeout=3600)
    waited = 0.0
    for seconds in clock.sleeps[:-1]:
        assert seconds <= max(0.5, 0.005 * waited) + 1e-9 and seconds <= 60
        waited += seconds
    assert max(clock.sleeps) < 20 and len(clock.sleeps) < 1000  # not 7,200 half-second polls


def test_wait_times_out_without_overshooting():
    clock = FakeClock()
    waiter = Waiter(ScriptedClient([RunState.RUNNING]), 5, 60, clock=clock.time, sleep=clock.sleep)
    with pytest.raises(WaitTimeoutError, match="run\\(s\\) 7 not finished"):
        waiter.wait(["7"], timeout=30)
    assert sum(clock.sleeps) == pytest.approx(30) and clock.sleeps[:2] == [0.5, 0.5]


def test_wait_against_the_http_client_with_fake_clock(fake):
    clock = FakeClock()
    workflow = fake.add(ms.STATUS_IN_PROGRESS)
    client = make_client("msgenomics", "http://ms.test", clock, key=fake.key)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 2:
            fake.workflows[workflow.Id] = workflow.model_copy(
                update={"Status": ms.STATUS_FAILED, "Message": "Error Code [308]: unmatched"}
            )

    runs = Waiter(client, 2, 3, clock=clock.time, sleep=sleep).wait([str(workflow.Id)])
    assert runs[0].state is RunState.FAILED and clock.sleeps == [0.5, 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-1", [9]), ("0", [0]), ("2:5", [2, 3, 4]), ("-3:", [7, 8, 9]), (":2", [0, 1])],
)
def test_in_range_is_python_slicing(text, expected):
    assert list(range(10))[parse_range(text)] == expected


# --- status / wait / cancel through the CLI -------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "name"),
    [
        (ms.STATUS_QUEUED, 10, "Queued"),
        (ms.STATUS_IN_PROGRESS, 20, "In progress"),
        (ms.STATUS_SUCCEEDED, 0, "Completed successfully"),
        (ms.STATUS_FAILED, 3, "Failed"),
        (ms.STATUS_CANCELLED, 4, "Cancelled"),
    ],
)
def test_status_exit_codes_and_state_name(fake, status, code, name):
    workflow = fake.add(status, message="Error Code [308]: unmatched" if code == 3 else None)
    result = run_cli(["status", "-w", str(workflow.Id), "--format", "msgen"], env=ENV)
    assert result.exit_code == code, result.stderr
    assert f"Workflow ID: {workflow.Id}]: Status: {name}" in result.stdout


def test_status_json_and_several_ids(fake):
    done, failed = fake.add(ms.STATUS_SUCCEEDED), fake.add(ms.STATUS_FAILED)
    result = run_cli(["status", str(done.Id), str(failed.Id), "--json"], env=ENV)
    assert result.exit_code == 3
    assert [r["state"] for r in json.loads(result.stdout)] == ["succeeded", "failed"]


def test_status_of_unknown_run_is_a_usage_error(fake):
    result = run_cli(["status", "99"], env=ENV)
    assert result.exit_code == 2 and "Workflow not found" in result.stderr
    assert result.stderr.count("\n") == 1


def test_status_with_bad_key_exits_7_and_hides_the_key(fake):
    result = run_cli(["status", "1", "-k", "wrong-key-0123456789"], env=ENV)
    assert result.exit_code == 7
    assert "wrong-key-0123456789" not in result.output


def test_wait_exits_with_the_run_outcome(fake):
    cancelled = fake.add(ms.STATUS_CANCELLED)
    done = fake.add(ms.STATUS_SUCCEEDED)
    assert run_cli(["wait", str(done.Id)], env=ENV).exit_code == 0
    assert run_cli(["wait", str(done.Id), str(cancelled.Id)], env=ENV).exit_code == 4


def test_cancel_is_idempotent(fake, mock):
    running, done = fake.add(ms.STATUS_IN_PROGRESS), fake.add(ms.STATUS_SUCCEEDED)
    result = run_cli(["cancel", str(running.Id), "-w", str(done.Id)], env=ENV)
    assert result.exit_code == 0, result.stderr
    assert "cancellation requested" in result.stderr
    assert f"run {done.Id} is already completed successfully" in result.stderr
    deletes = [c for c in mock.calls if c.request.method == "DELETE"]
    assert len(deletes) == 1 and deletes[0].request.url.endswith(f"/{running.Id}")
    again = run_cli(["cancel", str(running.Id)], env=ENV)
    assert (
        again.exit_code == 0 and len([c for c in mock.calls if c.request.method == "DELETE"]) == 1
    )


# --- list -----------------------------------------------------------------------------------


def test_list_table_csv_json_limit_and_range(fake, mock):
    for minute in range(6):
        fake.add(
            ms.STATUS_SUCCEEDED if minute % 2 else ms.STATUS_FAILED, f"run {minute}", minutes=minute
        )
    table = run_cli(["list"], env=ENV)
    assert table.exit_code == 0 and table.stdout.index("run 5") < table.stdout.index("run 0")
    assert "26m 21s" in table.stdout and "1.35 Gbase" in table.stdout
    assert "created (UTC)" in table.stdout and "2024-05-01 12:00Z" in table.stdout
    lines = table.stdout.split("\n")
    assert "─" not in table.stdout and all(line == line.rstrip() for line in lines)

    # -o is the output format when its value is one, msgen's outcome filter for pass/fail
    ids = run_cli(["list", "-o", "json", "--query", "[?state=='succeeded'].id"], env=ENV)
    assert ids.exit_code == 0, ids.stderr
    assert len(json.loads(ids.stdout)) == 3
    tsv = run_cli(["list", "-o", "fail", "-o", "tsv"], env=ENV).stdout.splitlines()
    assert tsv[0].split("\t")[:3] == ["id", "state", "state_name"] and len(tsv) == 4
    assert all(line.split("\t")[1] == "failed" for line in tsv[1:])
    assert all(line.count("\t") == tsv[0].count("\t") for line in tsv)

    mock.calls.reset()
    limited = run_cli(["list", "--limit", "2", "--json"], env=ENV)
    assert [r["description"] for r in json.loads(limited.stdout)] == ["run 5", "run 4"]
    assert len(mock.calls) == 1

    csv_out = run_cli(["list", "-o", "fail", "--csv"], env=ENV)
    lines = csv_out.stdout.strip().splitlines()
    assert lines[0].startswith("id,state,") and len(lines) == 4
    assert all(",failed," in line for line in lines[1:])

    ranged = run_cli(["list", "-r", "-2:", "--json"], env=ENV)
    assert [r["description"] for r in json.loads(ranged.stdout)] == ["run 5", "run 4"]

    window = ["--since", "2024-05-01T12:01Z", "--until", "2024-05-01T12:03:30+00:00"]
    between = run_cli(["list", *window, "-o", "json", "--query", "[].description"], env=ENV)
    assert json.loads(between.stdout) == ["run 3", "run 2", "run 1"], between.stderr

    bad = run_cli(["list", "--state", "sleeping"], env=ENV)
    assert bad.exit_code == 2 and "not one of" in bad.stderr


# --- submit validation: exit 2, nothing sent --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-b1", "A_1.fq.gz", "B_1.fq.gz", "-b2", "A_2.fq.gz"],
            "-b1 lists 2 file(s) but -b2 lists 1",
        ),
        (["-b1", "A_1.fq.gz", "-b2", "x.bam"], "cannot be mixed"),
        (["-b1", "A_1.fq.gz", "-b2", "A_1.fq.gz"], "both read 1 and read 2"),
        (["-b1", "A 1.fq.gz", "-b2", "A_2.fq.gz"], "invalid blob name"),
        (["-b1", "a_1.fq.gz", "-b2", "a_2.fq.gz", "-rg", "ID:x"], "must start with @RG"),
        (["-b1", "a_1.fq.gz", "-b2", "a_2.fq.gz", "-d", "x" * 501], "at most 500"),
        (["-b1", "a_1.fq.gz", "-b2", "a_2.fq.gz", "-erc", "maybe"], "emit_ref_confidence"),
        (["-b1", "a.bam", "-b2", "b.bam"], "BAM/SAM input is given alone"),
        (["-b1", "a.txt"], "neither FASTQ nor BAM"),
        (["-b1", "a_1.fq.gz", "-b2", "a_2.fq.gz", "-bqsr=maybe"], "takes true or false"),
        (["-b1", "a_1.fq.gz", "-b2", "a_2.fq.gz", "-bqsr", "maybe"], "unexpected extra argument"),
    ],
)
def test_submit_validation_exits_2_before_sending_anything(mock, tmp_path, args, message):
    env = {
        **ENV,
        "GENOFLOW_STORAGE__ACCOUNT_NAME": "myaccount",
        "GENOFLOW_STORAGE__ACCOUNT_KEY": "a2V5a2V5a2V5a2V5",
        "GENOFLOW_STATE_DIR": str(tmp_path),
    }
    result = run_cli(["submit", *args], env=env, cwd=tmp_path)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert len(mock.calls) == 0


def test_msgen_argv_prepass():
    from genoflow.cli.run_cmds import msgen_argv

    assert msgen_argv(["-b1", "A", "B", "-b2", "C", "D", "-bqsr", "-ow", "false", "-d", "x"]) == [
        "-b1",
        "A",
        "-b1",
        "B",
        "-b2",
        "C",
        "-b2",
        "D",
        "-bqsr=true",
        "-ow=false",
        "-d",
        "x",
    ]


def test_cli_import_pulls_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, genoflow.cli.run_cmds, genoflow.cli.app; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'requests', 'azure', 'fastapi', 'cwltool'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_connection_refused_on_status_is_unavailable(mock):
    mock.add("GET", "http://ms.test/api/workflows/1", body=requests.ConnectionError("refused"))
    env = {**ENV, "GENOFLOW_SERVICE__RETRY__ATTEMPTS": "1"}
    result = run_cli(["status", "1"], env=env)
    assert result.exit_code == 6 and "cannot reach the service" in result.stderr
