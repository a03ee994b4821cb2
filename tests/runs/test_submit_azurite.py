"""submit end to end: real storage (Azurite) for upload, SAS and tags; the service side is a
`responses` fake of each protocol (the live-server versions come with the server issue)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import responses

from genoflow.model import tags as tagnames
from genoflow.protocols.msgenomics import wire as ms
from tests.harness import AZURITE_KEY, Azurite, run_cli
from tests.protocols.fakes import FakeMsGenomics, FakeWes

pytestmark = pytest.mark.azurite


def _fastq(path: Path, reads: int, seed: str) -> Path:
    records = "".join(
        f"@{seed}{i}/{path.name[-7]}\nACGTACGTAC\n+\nIIIIIIIIII\n" for i in range(reads)
    )
    path.write_bytes(gzip.compress(records.encode()))
    return path


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")  # Azurite is real
        yield rsps


@pytest.fixture
def env(azurite: Azurite, unique_name: str, tmp_path: Path) -> dict[str, str]:
    return {
        **azurite.env(),
        "GENOFLOW_STORAGE__INPUT_CONTAINER": unique_name + "-in",
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": unique_name + "-out",
        "GENOFLOW_SERVICE__URL": "http://ms.test",
        "GENOFLOW_SERVICE__API_KEY": "test-subscription-key-123",
        "GENOFLOW_SERVICE__RETRY__INITIAL_DELAY": "0",
        "GENOFLOW_STATE_DIR": str(tmp_path / "state"),
    }


@pytest.fixture
def reads(tmp_path: Path) -> tuple[Path, Path]:
    return (
        _fastq(tmp_path / "NA12878_1.fq.gz", 20, "r"),
        _fastq(tmp_path / "NA12878_2.fq.gz", 20, "r"),
    )


def _input_tags(azurite: Azurite, container: str, name: str) -> dict[str, str]:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(
        azurite.account_url,
        credential={"account_name": "devstoreaccount1", "account_key": AZURITE_KEY},
    )
    return dict(service.get_blob_client(container, name).get_blob_tags())


def test_submit_uploads_makes_sas_and_is_idempotent(mock, env, reads, azurite, unique_name):
    fake = FakeMsGenomics(mock)
    args = ["submit", "-b1", str(reads[0]), "-b2", str(reads[1]), "-erc", "gvcf"]
    first = run_cli([*args, "--json"], env=env)
    assert first.exit_code == 0, first.stderr
    outcome = json.loads(first.stdout)
    # local files go under a per-sample folder
    assert outcome["existing"] is False and outcome["uploaded"] == [
        "NA12878/NA12878_1.fq.gz",
        "NA12878/NA12878_2.fq.gz",
    ]
    body = json.loads(fake.bodies[0])
    assert body["InputArgs"]["BLOBNAMES"] == "NA12878/NA12878_1.fq.gz,NA12878/NA12878_2.fq.gz,"
    for entry in filter(None, body["InputArgs"]["BLOBNAMES_WITH_SAS"].split(",")):
        name, sas = entry.split("?", 1)
        assert name in body["InputArgs"]["BLOBNAMES"].split(",")
        assert sas.startswith("sv=") and "sp=r&" in sas + "&" and "sig=" in sas
    out_sas = body["OutputArgs"]["CONTAINER_SAS"]
    assert out_sas.startswith("sv=") and "sp=rwd" in out_sas and "sr=c" in out_sas
    assert AZURITE_KEY not in fake.bodies[0].decode()
    assert body["OptionalArgs"] == {"GatkEmitRefConfidence": "gvcf"}
    # without -of the run gets its own folder, named after its submission key
    key = outcome["submission_key"]
    assert body["OutputArgs"]["OUTPUT_FILENAME_BASE"] == f"NA12878/{key[:8]}/NA12878"

    tags = _input_tags(azurite, unique_name + "-in", "NA12878/NA12878_1.fq.gz")
    service = outcome["run"]["service"]  # the fake names none: one derived from its URL
    assert service.startswith("url-")
    assert tags[tagnames.RUN_ID] == f"{service}:{outcome['run']['id']}"
    assert tags[tagnames.SUBMISSION_KEY] == outcome["submission_key"]
    assert tags[tagnames.SAMPLE] == "NA12878" and tags[tagnames.ROLE] == "input"

    again = run_cli(args, env=env)
    assert again.exit_code == 0 and "already submitted as run 1" in again.stderr
    assert again.stdout.strip() == "1" and len(fake.workflows) == 1

    forced = run_cli([*args, "--force", "--json"], env=env)
    assert forced.exit_code == 0 and len(fake.workflows) == 2
    # the files were there already: skipped, not uploaded
    assert json.loads(forced.stdout)["uploaded"] == [] and json.loads(forced.stdout)["skipped"] == [
        "NA12878/NA12878_1.fq.gz",
        "NA12878/NA12878_2.fq.gz",
    ]
    forced_key = json.loads(forced.stdout)["submission_key"]
    assert forced_key != key
    named = run_cli([*args, "-of", "NA12878b", "--force"], env=env)
    assert named.exit_code == 0 and len(fake.workflows) == 3
    bases = [json.loads(b)["OutputArgs"]["OUTPUT_FILENAME_BASE"] for b in fake.bodies]
    assert bases == [f"NA12878/{key[:8]}/NA12878", f"NA12878/{forced_key[:8]}/NA12878", "NA12878b"]
    # all runs read these inputs: the tags name each, with its own output base
    tags = _input_tags(azurite, unique_name + "-in", "NA12878/NA12878_1.fq.gz")
    out = unique_name + "-out"
    assert tags[tagnames.RUN_ID] == f"{service}:1 {service}:2 {service}:3"
    assert tags[tagnames.OUTPUT_BASE] == " ".join(
        f"{service}:{run}={out}/{base}" for run, base in zip("123", bases, strict=True)
    )


def test_lost_submit_answer_leaves_exactly_one_run(mock, env, reads):
    fake = FakeMsGenomics(mock)
    fake.lose_next_submit_answer = True
    result = run_cli(["submit", "-b1", str(reads[0]), "-b2", str(reads[1])], env=env)
    assert result.exit_code == 0, result.stderr
    assert "answer was lost" in result.stderr
    assert len(fake.workflows) == 1 and len(fake.bodies) == 1
    assert result.stdout.strip() == "1"


def test_wes_submit_is_idempotent_through_tags(mock, env, reads):
    fake = FakeWes(mock)
    wes_env = {
        **env,
        "GENOFLOW_SERVICE__PROTOCOL": "wes",
        "GENOFLOW_SERVICE__URL": "http://wes.test",
    }
    fake.lose_next_submit_answer = True
    args = ["submit", "-b1", str(reads[0]), "-b2", str(reads[1]), "--sample", "NA12878"]
    first = run_cli(args, env=wes_env)
    assert first.exit_code == 0, first.stderr
    second = run_cli(args, env=wes_env)
    assert second.exit_code == 0 and "already submitted" in second.stderr
    assert len(fake.runs) == 1


def test_submit_blob_names_already_uploaded_and_missing(mock, env, reads):
    fake = FakeMsGenomics(mock)
    assert run_cli(["submit", "-b1", str(reads[0]), "-b2", str(reads[1])], env=env).exit_code == 0
    by_name = run_cli(
        ["submit", "-b1", "NA12878/NA12878_1.fq.gz", "-b2", "NA12878/NA12878_2.fq.gz"], env=env
    )
    assert by_name.exit_code == 0 and "already submitted" in by_name.stderr
    missing = run_cli(["submit", "-b1", "nope_1.fq.gz", "-b2", "nope_2.fq.gz"], env=env)
    assert missing.exit_code == 2 and "not found in container" in missing.stderr
    assert len(fake.workflows) == 1


def test_batch_continues_past_a_bad_row(mock, env, tmp_path):
    fake = FakeMsGenomics(mock)
    a1, a2 = _fastq(tmp_path / "A_1.fq.gz", 5, "a"), _fastq(tmp_path / "A_2.fq.gz", 5, "a")
    b1, b2 = _fastq(tmp_path / "B_1.fq.gz", 5, "b"), _fastq(tmp_path / "B_2.fq.gz", 5, "b")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        f"sample,r1,r2,description\nA,{a1},{a2},first sample\nBAD,{a1},x.bam,\nB,{b1},{b2},\n"
    )
    result = run_cli(["submit", "--samples", str(sheet), "--json"], env=env)
    assert result.exit_code == 2
    rows = json.loads(result.stdout)
    assert [(r["sample"], r["ok"]) for r in rows] == [("A", True), ("BAD", False), ("B", True)]
    assert "cannot be mixed" in rows[1]["error"]
    descriptions = sorted(w.Description or "" for w in fake.workflows.values())
    assert len(descriptions) == 2 and descriptions[0].startswith("first sample [gf:")
    assert all(w.Status == ms.STATUS_QUEUED for w in fake.workflows.values())


def test_submit_refuses_what_would_fail_at_the_run_end(mock, env, reads, azurite, unique_name):
    from azure.storage.blob import BlobServiceClient

    fake = FakeMsGenomics(mock)
    service = BlobServiceClient(
        azurite.account_url,
        credential={"account_name": "devstoreaccount1", "account_key": AZURITE_KEY},
    )
    outputs = service.get_container_client(unique_name + "-out")
    outputs.create_container()
    outputs.upload_blob("NA12878.vcf", b"##fileformat=VCFv4.2\n")  # an msgen-era result

    # -of keeps its msgen meaning: that base is taken, so the run would fail at its end
    named = ["submit", "-b1", str(reads[0]), "-b2", str(reads[1]), "-of", "NA12878"]
    refused = run_cli(named, env=env)
    assert refused.exit_code == 2 and "outputs named 'NA12878' already exist" in refused.stderr
    assert "another output base with -of" in refused.stderr and fake.workflows == {}
    replaced = run_cli([*named, "-ow", "true"], env=env)
    assert replaced.exit_code == 0, replaced.stderr
    # without -of the run writes into its own folder: the old result is in nobody's way
    own = run_cli(["submit", "-b1", str(reads[0]), "-b2", str(reads[1])], env=env)
    assert own.exit_code == 0 and len(fake.workflows) == 2, own.stderr

    inputs = service.get_container_client(unique_name + "-in")
    inputs.get_blob_client("NA12878/NA12878_1.fq.gz").set_standard_blob_tier("Archive")
    archived = run_cli(
        ["submit", "-b1", "NA12878/NA12878_1.fq.gz", "-b2", "NA12878/NA12878_2.fq.gz", "-of", "x"],
        env=env,
    )
    assert archived.exit_code == 2 and "in the Archive tier" in archived.stderr
    assert "rehydrate" in archived.stderr and len(fake.workflows) == 2


def test_resubmitting_after_a_failed_run_gets_a_new_folder_once(mock, env, reads, azurite):
    """The failed run's folder keeps its logs; the retry gets its own key and folder, and a
    retry of that retry finds it instead of making a third run."""
    fake = FakeMsGenomics(mock)
    args = ["submit", "-b1", str(reads[0]), "-b2", str(reads[1]), "--json"]
    first = json.loads(run_cli(args, env=env).stdout)
    fake.workflows[1].Status = ms.STATUS_FAILED
    second = run_cli(args, env=env)
    assert second.exit_code == 0 and "run 1, ended failed: submitting again" in second.stderr
    retry = json.loads(second.stdout)
    assert retry["run"]["id"] == "2" and retry["submission_key"] != first["submission_key"]
    bases = [json.loads(b)["OutputArgs"]["OUTPUT_FILENAME_BASE"] for b in fake.bodies]
    assert bases[0] != bases[1] and bases[1] == f"NA12878/{retry['submission_key'][:8]}/NA12878"
    third = json.loads(run_cli(args, env=env).stdout)
    assert third["existing"] is True and third["run"]["id"] == "2" and len(fake.workflows) == 2


def test_same_file_names_of_two_samples_do_not_clash(mock, env, tmp_path, azurite):
    fake = FakeMsGenomics(mock)
    runs = []
    for sample in ("A", "B"):
        folder = tmp_path / sample
        folder.mkdir()
        r1 = _fastq(folder / "reads_1.fq.gz", 5, sample)
        r2 = _fastq(folder / "reads_2.fq.gz", 5, sample)
        done = run_cli(
            ["submit", "-b1", str(r1), "-b2", str(r2), "--sample", sample, "--json"], env=env
        )
        assert done.exit_code == 0, done.stderr
        runs.append(json.loads(done.stdout))
    assert [r["uploaded"][0] for r in runs] == ["A/reads_1.fq.gz", "B/reads_1.fq.gz"]
    # one --prefix for both: the second file meets the first, and the hint names submit's flags
    c1, c2 = tmp_path / "A" / "reads_1.fq.gz", tmp_path / "A" / "reads_2.fq.gz"
    common = ["submit", "-b1", str(c1), "-b2", str(c2), "--prefix", "shared"]
    assert run_cli([*common, "--sample", "A"], env=env).exit_code == 0
    b1, b2 = tmp_path / "B" / "reads_1.fq.gz", tmp_path / "B" / "reads_2.fq.gz"
    clash = run_cli(["submit", "-b1", str(b1), "-b2", str(b2), "--prefix", "shared"], env=env)
    assert clash.exit_code == 2 and "already exists with different content" in clash.stderr
    assert "choose another --prefix" in clash.stderr and "submit --overwrite" not in clash.stderr
    assert len(fake.workflows) == 3


def test_submit_checks_a_local_bam_before_uploading(mock, env, tmp_path):
    fake = FakeMsGenomics(mock)
    fake_bam = tmp_path / "sample.bam"
    fake_bam.write_text("this is not a BAM file\n")
    result = run_cli(["submit", "-b1", str(fake_bam)], env=env)
    assert result.exit_code == 2 and "BAM" in result.stderr, result.stderr
    assert "uploaded" not in result.stderr and fake.workflows == {}


def test_a_mistyped_local_path_is_named_as_such(mock, env, tmp_path):
    FakeMsGenomics(mock)
    missing = str(tmp_path / "nope_R1.fq.gz")
    result = run_cli(["submit", "-b1", missing, "-b2", missing + "2"], env=env)
    assert result.exit_code == 2
    assert f"{missing}: no such local file" in result.stderr and "name of a blob" in result.stderr
