"""Every command against a live server on Azurite: -o json is exactly one JSON document valid
against its published schema, -o tsv is a header row and tab-separated rows with no padding;
one run read over both protocols is the same record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from genoflow import schemas
from genoflow.demo import DemoData
from tests.cli.schemas import schema_errors
from tests.harness import Azurite, CliResult, run_cli
from tests.server.conftest import (  # noqa: F401 - demo_data and live_server: fixtures
    LiveServer,
    demo_data,
    live_server,
)

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]


@dataclass
class World:
    env: dict[str, str]
    run_id: str
    tmp: Path
    demo: DemoData
    server: LiveServer
    submitted: CliResult

    def path(self, name: str) -> str:
        return str(self.tmp / f"{name}-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def world(
    live_server: LiveServer,  # noqa: F811
    azurite: Azurite,
    demo_data: DemoData,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> World:
    name = f"docs{uuid.uuid4().hex[:8]}"
    tmp = tmp_path_factory.mktemp("documents")
    env = {
        **live_server.client_env(azurite),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": f"{name}-out",
        "GENOFLOW_LAKE__CONTAINER": f"{name}-lake",
        "GENOFLOW_STATE_DIR": str(tmp / "state"),
        "GENOFLOW_CACHE_DIR": str(tmp / "cache"),
    }
    args = ["submit", "-b1", str(demo_data.fastq_r1), "-b2", str(demo_data.fastq_r2)]
    submitted = run_cli([*args, "--wait", "--timeout", "900", "-o", "json"], env=env)
    assert submitted.exit_code == 0, submitted.stderr[-3000:]
    run_id = json.loads(submitted.stdout)["id"]
    return World(env, run_id, tmp, demo_data, live_server, submitted)


Case = Callable[[World], list[str]]

# command path -> (argv after the global options, exit codes it may end with)
CASES: dict[str, tuple[Case, tuple[int, ...]]] = {
    "submit": (
        lambda w: ["submit", "-b1", str(w.demo.fastq_r1), "-b2", str(w.demo.fastq_r2)],
        (0,),
    ),
    "submit --samples": (lambda w: ["submit", "--samples", _sheet(w)], (0,)),
    "list": (lambda w: ["list", "--since", "1d"], (0,)),
    "status": (lambda w: ["status", w.run_id], (0,)),
    "wait": (lambda w: ["wait", w.run_id, "--timeout", "60"], (0,)),
    "cancel": (lambda w: ["cancel", w.run_id], (0,)),
    "logs": (lambda w: ["logs", w.run_id], (0,)),
    "upload": (lambda w: ["upload", str(w.demo.fastq_r1), "--prefix", "again"], (0,)),
    "download": (
        lambda w: ["download", f"again/{w.demo.fastq_r1.name}", "-c", w.env[IN], "-o", w.path("d")],
        (0,),
    ),
    "fetch": (lambda w: ["fetch", w.run_id, "--only", "vcf", "-o", w.path("fetch")], (0,)),
    "tier plan": (lambda w: ["tier", "plan", "--as-of", "40d"], (0,)),
    "tier apply": (lambda w: ["tier", "apply"], (0,)),
    "cost": (lambda w: ["cost"], (0,)),
    "config init": (lambda w: ["config", "init", w.path("genoflow.yaml")], (0,)),
    "config show": (lambda w: ["config", "show"], (0,)),
    "config check": (lambda w: ["config", "check"], (0,)),
    "pipeline pack": (lambda w: ["pipeline", "pack", w.path("pipeline.cwl")], (0,)),
    "local status": (lambda w: ["local", "status", "--dir", w.path("stack")], (6,)),
    "demo data": (
        lambda w: ["demo", "data", "--dir", str(w.tmp / "demo"), "--read-pairs", "200"],
        (0,),
    ),
    "reference upload": (
        lambda w: ["reference", "upload", "ref1", str(w.demo.reference), *_work_dir(w)],
        (0,),
    ),
    "server reference add": (
        lambda w: ["server", "reference", "add", "r2", str(w.demo.reference), *_data_dir(w)],
        (0,),
    ),
    "server reference list": (lambda w: ["server", "reference", "list", *_data_dir(w)], (0,)),
    "lake add": (lambda w: ["lake", "add", w.run_id], (0,)),
    "lake report": (lambda w: ["lake", "report"], (0,)),
    "lake export": (lambda w: ["lake", "export", w.path("parquet")], (0,)),
}
IN = "GENOFLOW_STORAGE__INPUT_CONTAINER"


def _sheet(world: World) -> str:
    """A TSV sheet of the world's sample: the run it names already exists (no new run)."""
    sheet = Path(world.path("sheet")).with_suffix(".tsv")
    sample = world.demo.fastq_r1.name.split("_")[0]
    sheet.write_text(f"sample\tfastq_1\tfastq_2\n{sample}\t{world.demo.fastq_r1}\t"
                     f"{world.demo.fastq_r2}\n")  # fmt: skip
    return str(sheet)


def _work_dir(world: World) -> list[str]:
    """One index build for both runs (a second build's .dict names another path)."""
    return ["--work-dir", str(world.tmp / "reference-work")]


def _data_dir(world: World) -> list[str]:
    """A server data dir of its own (reference add writes into it)."""
    return ["--data-dir", str(world.tmp / "server-data")]


def test_every_command_is_covered() -> None:
    # elsewhere, against their schemas: tests/local (stack, demo run), tests/qc (qc)
    covered = set(CASES) | {"local up", "local down", "demo run", "qc"}
    assert covered == set(schemas.COMMAND_SCHEMAS)
    assert set(schemas.names()) >= set(schemas.COMMAND_SCHEMAS.values())


@pytest.mark.parametrize("command", list(CASES))
def test_json_is_one_document_valid_against_its_schema(world: World, command: str) -> None:
    build, codes = CASES[command]
    result = run_cli([*build(world), "-o", "json"], env=world.env)
    assert result.exit_code in codes, result.stderr[-2000:]
    document = json.loads(result.stdout)  # exactly one document: anything more fails here
    errors = schema_errors(command, document)
    assert not errors, errors


@pytest.mark.parametrize("command", list(CASES))
def test_tsv_is_a_header_and_tab_separated_rows_without_padding(world: World, command: str) -> None:
    build, codes = CASES[command]
    result = run_cli([*build(world), "-o", "tsv"], env=world.env)
    assert result.exit_code in codes, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines, f"{command} -o tsv printed nothing"
    header = lines[0].split("\t")
    assert all(name and name == name.strip() for name in header), header
    for line in lines[1:]:
        cells = line.split("\t")
        assert len(cells) == len(header), (header, line)
        assert all(cell == cell.strip() for cell in cells), line  # no padding


def test_the_id_is_what_scripts_capture(world: World) -> None:
    """ID=$(genoflow submit ... --wait -o tsv --query id), and the table form too."""
    args = CASES["submit"][0](world)
    for extra in (["--wait", "-o", "tsv", "--query", "id"], ["--wait"], []):
        result = run_cli([*args, *extra], env=world.env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f"{world.run_id}\n", extra
    listed = run_cli(["list", "-o", "json", "--query", "[?state=='succeeded'].id"], env=world.env)
    assert listed.exit_code == 0 and world.run_id in json.loads(listed.stdout)
    submitted = json.loads(world.submitted.stdout)
    assert submitted["run"]["state"] == "succeeded" and submitted["run"]["ended"].endswith("Z")


def test_one_run_over_both_protocols_is_the_same_record(world: World) -> None:
    records = {}
    for protocol in ("msgenomics", "wes"):
        env = {**world.env, "GENOFLOW_SERVICE__PROTOCOL": protocol}
        result = run_cli(["status", world.run_id, "-o", "json"], env=env)
        assert result.exit_code == 0, result.stderr
        [records[protocol]] = json.loads(result.stdout)
    assert records["msgenomics"] == records["wes"]
    assert records["wes"]["outputs"] and records["wes"]["sample"]


def test_the_tier_use_cases_are_library_calls_returning_the_cli_records(world: World) -> None:
    """plan, apply and cost without the CLI: the documents the commands print, the same keys."""
    from genoflow.config.loader import load_settings
    from genoflow.orchestration import api

    settings = load_settings(environ=world.env, cwd=world.tmp)
    planned = api.plan_tiers(settings, now=datetime.now(timezone.utc) + timedelta(days=40))
    applied = api.apply_tiers(settings)  # today: the fresh run's files stay where they are
    cost = api.storage_cost(settings)
    for command, record in (("tier plan", planned), ("tier apply", applied), ("cost", cost)):
        assert not schema_errors(command, record), (command, schema_errors(command, record))
    assert applied["ok"] is True and applied["changed"] == 0 and applied["failed"] == 0
    assert world.run_id in {run["run"] for run in cost["runs"]}
    # cost moves nothing: a tiering policy it cannot read is not its concern
    env = {**world.env, "GENOFLOW_TIERING__POLICY": str(world.tmp / "no-such-policy.yaml")}
    cli_cost = run_cli(["cost", "-o", "json"], env=env)
    assert cli_cost.exit_code == 0, cli_cost.stderr
    assert set(json.loads(cli_cost.stdout)) == set(cost)


def test_fetch_reports_its_files_with_the_keys_download_uses(world: World) -> None:
    """md5, seconds, rate and bytes sent, as download reports them; a second fetch sends 0."""
    target = world.path("fetch-keys")
    first = run_cli(["fetch", world.run_id, "--only", "vcf", "-o", target, "-o", "json"], world.env)
    again = run_cli(["fetch", world.run_id, "--only", "vcf", "-o", target, "-o", "json"], world.env)
    assert first.exit_code == 0 and again.exit_code == 0, first.stderr + again.stderr
    sent = {f["name"]: f for f in json.loads(first.stdout)["files"]}
    kept = {f["name"]: f for f in json.loads(again.stdout)["files"]}
    assert sent and set(sent) == set(kept)
    for name, item in sent.items():
        assert item["bytes_sent"] == item["size"] and item["status"] == "downloaded"
        assert item["md5"] and len(item["md5"]) == 32 and item["seconds"] is not None
        assert kept[name]["bytes_sent"] == 0 and kept[name]["status"] == "skipped"
        assert kept[name]["md5"] == item["md5"]


@pytest.mark.parametrize("protocol", ["msgenomics", "wes"])
def test_a_run_the_service_does_not_have_is_named_in_one_line(world: World, protocol: str) -> None:
    env = {**world.env, "GENOFLOW_SERVICE__PROTOCOL": protocol}
    for command in (["status", "999999"], ["wait", "999999"], ["fetch", "999999", "-o", "x"]):
        result = run_cli(command, env=env)
        assert result.exit_code == 2 and result.stdout == "", result.stderr
        [line] = result.stderr.splitlines()
        assert f"no run 999999 on the service at {world.server.url.rstrip('/')}" in line, line
        assert "'genoflow list' shows the runs it has" in line
