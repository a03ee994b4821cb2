"""Issue 12's acceptance on real components: live `genoflow server`s on one Azurite account, the
real pipeline on tiny samples, and the CLI as a user runs it.

* two servers, each with a run 1 writing to its own container: `fetch 1` against each returns
  that server's files; a blob swapped under a recorded name makes fetch exit 8;
* 6 samples whose files have the same names, submitted in one batch and again with --force:
  12 runs, 12 disjoint output folders, nothing overwritten or refused; `tier plan` sees every
  run's outputs;
* a run that fails in the aligner: `genoflow logs` shows the tool's stderr, `fetch --only logs`
  brings its logs.zip, its message names the step.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.demo import DemoData
from genoflow.storage import BlobStore, open_store
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, CliResult, run_cli
from tests.server.conftest import LiveServer, make_server

pytestmark = [pytest.mark.azurite, pytest.mark.pipeline, pytest.mark.slow]

PAIRS = 300  # read pairs per tiny sample


def _store(azurite: Azurite) -> BlobStore:
    return open_store(
        StorageConfig(
            account_name=AZURITE_ACCOUNT, account_url=azurite.account_url, account_key=AZURITE_KEY
        )
    )


def _records(path: Path) -> Iterator[list[str]]:
    with gzip.open(path, "rt") as handle:
        while True:
            record = list(itertools.islice(handle, 4))
            if not record:
                return
            yield record


def tiny_sample(data: DemoData, folder: Path, index: int) -> Path:
    """``folder/reads_1.fq.gz`` and ``reads_2.fq.gz``: pairs [index*PAIRS, (index+1)*PAIRS) of
    the demo sample."""
    folder.mkdir(parents=True, exist_ok=True)
    for source, name in ((data.fastq_r1, "reads_1.fq.gz"), (data.fastq_r2, "reads_2.fq.gz")):
        chosen = itertools.islice(_records(source), index * PAIRS, (index + 1) * PAIRS)
        lines = [line for record in chosen for line in record]
        (folder / name).write_bytes(gzip.compress("".join(lines).encode(), mtime=0))
    return folder


def cli(env: dict[str, str], *args: str) -> CliResult:
    return run_cli(list(args), env=env)


def json_of(result: CliResult) -> object:
    """The one JSON document on stdout (submit --wait: the submission, its run as it ended)."""
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def client_env(
    server: LiveServer, azurite: Azurite, name: str, tmp: Path, out: str
) -> dict[str, str]:
    return {
        **server.client_env(azurite),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": f"{name}-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": out,
        "GENOFLOW_STATE_DIR": str(tmp / "state"),
    }


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, azurite: Azurite, demo_data: DemoData
) -> Iterator[tuple[LiveServer, LiveServer]]:
    pair = tuple(
        make_server(
            tmp_path_factory.mktemp(f"server{n}"),
            azurite,
            demo_data,
            threads=1,
            max_concurrent_runs=2,
        )
        for n in "ab"
    )
    started = []
    try:
        for server in pair:
            server.start()
            started.append(server)
        yield pair[0], pair[1]
    finally:
        for server in started:
            server.stop()


def test_two_servers_run_1_fetch_their_own_outputs_and_a_swap_is_refused(
    servers: tuple[LiveServer, LiveServer],
    azurite: Azurite,
    demo_data: DemoData,
    unique_name: str,
    tmp_path: Path,
) -> None:
    a, b = "a", "b"
    live = dict(zip((a, b), servers, strict=True))
    # Both users keep the same output_container in their config; the runs write elsewhere.
    env = {
        n: client_env(live[n], azurite, unique_name, tmp_path / n, f"{unique_name}-cfg")
        for n in (a, b)
    }
    runs = {}
    for server, index, container in ((a, 0, "outa"), (b, 1, "outb")):
        sample = tiny_sample(demo_data, tmp_path / f"S{index}", index)
        out = f"{unique_name}-{container}"
        submitted = json_of(
            cli(
                env[server],
                *("submit", "-b1", str(sample / "reads_1.fq.gz")),
                *("-b2", str(sample / "reads_2.fq.gz"), "--sample", f"S{index}"),
                *("-oc", out, "--wait", "--timeout", "900", "--json"),
            )
        )
        assert isinstance(submitted, dict) and submitted["run"]["id"] == "1"
        runs[server] = (out, f"S{index}")
    assert live[a].url != live[b].url
    store = _store(azurite)

    # Another file put under one of server a's recorded names: exit 8, nothing marked fetched.
    out_a = runs[a][0]
    vcf = next(x.name for x in store.list_blobs(out_a) if x.name.endswith((".vcf", ".vcf.gz")))
    store.put_blob(out_a, vcf, b"##fileformat=VCFv4.2\n#not what the run wrote\n")
    swapped = cli(env[a], "fetch", "1", "-o", str(tmp_path / "swapped"))
    assert swapped.exit_code == 8, swapped.stderr
    assert "is not what run 1 wrote" in swapped.stderr
    assert not (tmp_path / "swapped").exists()
    assert not any(
        "genoflow-fetched" in (x.tags or {}) for x in store.list_blobs(out_a, include_tags=True)
    )

    # Each server's run 1 fetches its own files (the untouched ones, for server a).
    words = set()
    for server, only in ((b, []), (a, ["--only", "bam"])):
        out, sample = runs[server]
        fetched = json_of(
            cli(env[server], "fetch", "1", *only, "-o", str(tmp_path / out), "--json")
        )
        assert isinstance(fetched, dict) and fetched["files"]
        files = fetched["files"]
        assert {Path(f["path"]).name.split(".")[0] for f in files} == {sample}
        assert all(f["verified"] and f["checked_against"] == "run record" for f in files)
        for item in files:
            blob = store.get_blob(out, item["name"])
            assert hashlib.md5(Path(item["path"]).read_bytes()).hexdigest() == blob.md5
        listed = store.list_blobs(out, files[0]["name"], include_tags=True)
        (tagged,) = [x for x in listed if x.name == files[0]["name"]]
        words.add((tagged.tags or {})["genoflow-run"])
        assert (
            fetched["service"] and (tagged.tags or {})["genoflow-run"] == fetched["service"] + ":1"
        )
    assert len(words) == 2  # two services' run 1: two runs


def test_same_named_samples_batched_twice_get_twelve_disjoint_folders(
    servers: tuple[LiveServer, LiveServer],
    azurite: Azurite,
    demo_data: DemoData,
    unique_name: str,
    tmp_path: Path,
) -> None:
    server = servers[0]
    out = f"{unique_name}-out"
    env = client_env(server, azurite, unique_name, tmp_path, out)
    sheet = tmp_path / "sheet.csv"
    rows = ["sample,r1,r2"]
    for index in range(6):
        folder = tiny_sample(demo_data, tmp_path / f"lane{index}", index + 2)
        rows.append(f"B{index},{folder / 'reads_1.fq.gz'},{folder / 'reads_2.fq.gz'}")
    sheet.write_text("\n".join(rows) + "\n")
    results = []
    for extra in ([], ["--force"]):
        batch = json_of(cli(env, "submit", "--samples", str(sheet), *extra, "--json"))
        assert isinstance(batch, list) and all(r["ok"] and not r["existing"] for r in batch)
        results += batch
    ids = [r["run"]["id"] for r in results]
    assert len(set(ids)) == 12
    waited = cli(env, "wait", *ids, "--timeout", "1500", "--json")
    assert waited.exit_code == 0, waited.stdout + waited.stderr
    finished = json.loads(waited.stdout)
    assert {run["state"] for run in finished} == {"succeeded"}

    # Each run recorded its outputs in its own folder; together they are every blob written.
    folders, recorded = {}, {}
    for run in finished:
        names = [o["name"] for o in run["outputs"]]
        assert names and {n.rsplit("/", 1)[0] for n in names} == {names[0].rsplit("/", 1)[0]}, names
        folders[run["id"]] = names[0].rsplit("/", 1)[0]
        recorded.update({o["name"]: (run["id"], o["md5"]) for o in run["outputs"]})
    assert len(set(folders.values())) == 12
    store = _store(azurite)
    blobs = {b.name: b for b in store.list_blobs(out)}
    assert set(blobs) == set(recorded)
    assert all(blobs[name].md5 == md5 for name, (_, md5) in recorded.items())  # none overwritten
    inputs = [b.name for b in store.list_blobs(f"{unique_name}-in")]
    assert sorted(inputs) == sorted(f"B{i}/reads_{r}.fq.gz" for i in range(6) for r in (1, 2))

    # tier plan sees every run's outputs, each tied to its own run.
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules: [{name: all, role: output, since: run_end, days: 0, action: Cool}]\n")
    plan = json_of(cli(env, "tier", "plan", "--policy", str(policy), "--json"))
    assert isinstance(plan, dict)
    changes = {c["blob"].split("/", 1)[1]: c["runs"] for c in plan["changes"]}
    assert changes == {name: [run_id] for name, (run_id, _) in recorded.items()}
    cost = json_of(cli(env, "cost", "--json"))
    assert isinstance(cost, dict) and {r["run"] for r in cost["runs"]} == set(ids)


def test_a_run_failing_in_the_aligner_is_diagnosable_from_the_client(
    servers: tuple[LiveServer, LiveServer],
    azurite: Azurite,
    demo_data: DemoData,
    unique_name: str,
    tmp_path: Path,
) -> None:
    server = servers[1]  # its reference is broken below: this test comes last
    env = client_env(server, azurite, unique_name, tmp_path, f"{unique_name}-out")
    sample = tiny_sample(demo_data, tmp_path / "bad", 8)
    (bwt,) = (server.data_dir / "references").rglob("*.bwt")
    bwt.write_bytes(bwt.read_bytes()[:100])  # bwa mem crashes loading the index
    submitted = cli(
        env,
        *("submit", "-b1", str(sample / "reads_1.fq.gz"), "-b2", str(sample / "reads_2.fq.gz")),
        *("--sample", "BAD", "--wait", "--timeout", "900", "--json"),
    )
    assert submitted.exit_code == 3, submitted.stderr
    run = json.loads(submitted.stdout)["run"]
    assert "failed in step align" in run["message"], run["message"]
    tail = run["message"].split("align.log: ", 1)[1].split(" | ")[-1].strip()
    assert "bwa" in run["message"] and tail, run["message"]

    logs = cli(env, "logs", run["id"])
    assert logs.exit_code == 0, logs.stderr
    assert tail in logs.stdout, (tail, logs.stdout[-3000:])  # the tool's own stderr
    assert AZURITE_KEY not in logs.stdout and "sig=" not in logs.stdout.replace("sig=***", "")
    followed = cli(env, "logs", run["id"], "--follow")
    assert followed.exit_code == 3 and followed.stdout == logs.stdout

    fetched = json_of(
        cli(env, "fetch", run["id"], "--only", "logs", "-o", str(tmp_path / "l"), "--json")
    )
    assert isinstance(fetched, dict)
    (item,) = fetched["files"]
    assert item["name"].endswith(".logs.zip")
    with zipfile.ZipFile(item["path"]) as archive:
        text = "".join(archive.read(n).decode(errors="replace") for n in archive.namelist())
    assert tail in text
