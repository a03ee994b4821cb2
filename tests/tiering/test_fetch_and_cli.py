"""fetch against Azurite with a seeded service; lifecycle export and policy errors via the CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from genoflow.config.schema import StorageConfig
from genoflow.errors import ExitCode, IntegrityError, NotFoundError, UsageError
from genoflow.model import tags as t
from genoflow.model.outputs import RunOutput
from genoflow.model.runs import Run, RunState
from genoflow.orchestration.fetch import fetch_outputs, parse_kinds
from genoflow.storage.base import BlobStore
from genoflow.tiering.jobs import open_stores
from tests.harness import Azurite, run_cli
from tests.tiering.stub_service import SeededService, run
from tests.tiering.test_apply_azurite import storage_config

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _containers(
    azurite: Azurite, name: str
) -> tuple[StorageConfig, dict[str, BlobStore], str, str]:
    """The storage config, stores by container, and the created input and output containers."""
    config = storage_config(azurite, name)
    stores, _ = open_stores(config)
    inp, out = config.input_container, config.output_container
    for container in (inp, out):
        stores[container].ensure_container(container)
    return config, dict(stores), inp, out


@pytest.mark.azurite
def test_fetch_verifies_tags_refuses_running_and_archived(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    from azure.storage.blob import ContentSettings

    config, stores, inp, out = _containers(azurite, unique_name)
    service = stores[out]._service  # type: ignore[attr-defined]
    contents = {"s1.bam": b"BAM" * 1000, "s1.bam.bai": b"BAI", "s1.vcf": b"##fileformat=VCF\n"}
    for name, data in contents.items():
        service.get_blob_client(out, name).upload_blob(
            data, content_settings=ContentSettings(content_md5=hashlib.md5(data).digest())
        )
    service.get_blob_client(inp, "s1_1.fq.gz").upload_blob(
        b"@r", tags={t.RUN_ID: "1", t.ROLE: "input", t.OUTPUT_BASE: f"{out}/s1"}
    )
    client = SeededService([run("1", "succeeded", 1), run("2", "running", sample="s1")])

    with pytest.raises(UsageError, match="run 2 is in progress") as running:
        fetch_outputs(client, stores[out], out, "2", tmp_path, kinds=None, now=NOW)
    assert running.value.exit_code == ExitCode.USAGE and not list(tmp_path.iterdir())

    result = fetch_outputs(
        client,
        stores[out],
        out,
        "1",
        tmp_path / "r1",
        kinds=None,
        now=NOW,
        inputs=(stores[inp], inp),
    )
    assert {f.path.name: f.path.read_bytes() for f in result.files} == contents
    assert all(f.verified for f in result.files)
    tags = service.get_blob_client(out, "s1.bam").get_blob_tags()
    assert tags == {
        t.RUN_ID: "1",
        t.ROLE: "output",
        t.KIND: "bam",
        t.FETCHED: "2026-06-01T00:00:00Z",
    }

    only = fetch_outputs(
        client,
        stores[out],
        out,
        "1",
        tmp_path / "vcf",
        kinds=parse_kinds("vcf"),
        now=NOW,
        inputs=(stores[inp], inp),
    )
    assert [f.path.name for f in only.files] == ["s1.vcf"]

    service.get_blob_client(out, "s1.bam").set_standard_blob_tier("Archive")
    with pytest.raises(UsageError, match="Archive tier") as archived:
        fetch_outputs(
            client,
            stores[out],
            out,
            "1",
            tmp_path / "again",
            kinds=None,
            now=NOW,
            inputs=(stores[inp], inp),
        )
    assert "rehydrate" in archived.value.one_line()
    assert not (tmp_path / "again").exists()

    # A run that lists its outputs (WES) and one of them is gone: say so, download nothing.
    listed = Run(
        id="3",
        state=RunState.SUCCEEDED,
        output_document={
            "vcf": f"{config.account_url}/{out}/s1.vcf",
            "bam": f"{config.account_url}/{out}/gone.bam",
        },
    )
    with pytest.raises(NotFoundError, match=f"not in storage: {out}/gone.bam"):
        fetch_outputs(
            SeededService([listed]), stores[out], out, "3", tmp_path / "r3", kinds=None, now=NOW
        )
    assert not (tmp_path / "r3").exists()
    only_vcf = fetch_outputs(
        SeededService([listed]),
        stores[out],
        out,
        "3",
        tmp_path / "r3",
        kinds=parse_kinds("vcf"),
        now=NOW,
    )
    assert [f.path.name for f in only_vcf.files] == ["s1.vcf"]


def test_parse_kinds_rejects_unknown() -> None:
    with pytest.raises(UsageError, match="unknown kind"):
        parse_kinds("bam,cram")


def test_variant_kinds_bring_their_index_along() -> None:
    assert parse_kinds("vcf") == {"vcf", "gvcf", "tbi"}
    assert parse_kinds("gvcf,logs") == {"gvcf", "tbi", "logs"}
    assert parse_kinds("bam") == {"bam"} and parse_kinds(None) is None


def test_lifecycle_policy_exports_age_rules_and_says_what_it_left_out(tmp_path: Path) -> None:
    policy = Path(__file__).resolve().parents[2] / "docs" / "tiering-policy.example.yaml"
    result = run_cli(["tier", "lifecycle-policy", "--policy", str(policy)], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    exported = json.loads(result.stdout)
    names = [rule["name"] for rule in exported["rules"]]
    assert names == ["logstocoollogs", "scratchuploads"]
    logs = exported["rules"][0]["definition"]
    assert logs["filters"]["prefixMatch"] == ["outputs/"]
    assert {"name": t.KIND, "op": "==", "value": "logs"} in logs["filters"]["blobIndexMatch"]
    assert logs["actions"]["baseBlob"] == {"tierToCool": {"daysAfterModificationGreaterThan": 30}}
    scratch = exported["rules"][1]["definition"]
    assert scratch["filters"]["prefixMatch"] == ["inputs/scratch/"]
    for rule in (
        "inputs-to-cool",
        "inputs-to-archive",
        "failed-run-inputs-deleted",
        "bam-to-cold-after-fetch",
    ):
        assert f"not expressed: rule {rule}:" in result.stderr
    assert "inputs-to-cool: counts days since the run ended" in result.stderr
    assert "bam-to-cold-after-fetch: waits for the outputs to be fetched" in result.stderr


def test_bad_policy_is_a_one_line_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("rules: [{name: x, role: input, days: 1, action: Warm}]\n")
    result = run_cli(["tier", "lifecycle-policy", "--policy", str(bad)], cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "rules[0] (x).action" in result.stderr


def test_lifecycle_export_never_deletes_rounds_days_up_and_keeps_names_unique() -> None:
    from genoflow.tiering.lifecycle import lifecycle_policy
    from genoflow.tiering.policy import parse_policy

    policy = parse_policy(
        """
deletable_roles: [untracked]
rules:
  - {name: stray, role: untracked, container: inputs, since: modified, days: 30, action: delete}
  - {name: old-in, role: input, since: modified, days: 7.5, action: Archive}
  - {name: oldin, role: input, since: created, days: 1, action: Cool}
""",
        "t",
    )
    export = lifecycle_policy(policy, {"input": "inputs", "output": "outputs"})
    assert [name for name, _ in export.not_expressed] == ["stray"]
    assert "deletes" in export.not_expressed[0][1]
    assert [rule["name"] for rule in export.policy["rules"]] == ["oldin", "oldin2"]
    archive = export.policy["rules"][0]["definition"]["actions"]["baseBlob"]
    assert archive == {
        "tierToArchive": {
            "daysAfterModificationGreaterThan": 8,  # never earlier than the policy's 7.5
            "daysAfterLastTierChangeGreaterThan": 30,  # a rehydrated blob stays online
        }
    }
    assert all(
        "delete" not in rule["definition"]["actions"]["baseBlob"] for rule in export.policy["rules"]
    )


@pytest.mark.azurite
def test_fetch_takes_each_runs_own_outputs_when_runs_share_inputs(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    _, stores, inp, out = _containers(azurite, unique_name)
    for name in ("s7.vcf", "s7b.vcf"):
        stores[out].put_blob(out, name, name.encode())
    # submitted twice: run 1 with the default output base, run 2 with -of s7b
    stores[inp].put_blob(
        inp, "s7_1.fq.gz", b"@r", tags={t.RUN_ID: "1 2", t.OUTPUT_BASE: f"1={out}/s7 2={out}/s7b"}
    )
    client = SeededService([run("1", "succeeded", 1, sample="s7"), run("2", "succeeded", 1)])
    for run_id, expected in (("1", "s7.vcf"), ("2", "s7b.vcf")):
        result = fetch_outputs(
            client,
            stores[out],
            out,
            run_id,
            tmp_path / run_id,
            kinds=None,
            now=NOW,
            inputs=(stores[inp], inp),
        )
        assert [f.path.name for f in result.files] == [expected]


def _put(service: Any, container: str, name: str, data: bytes) -> RunOutput:
    """Upload ``data`` (with its Content-MD5) and return the record a producer would keep."""
    from azure.storage.blob import ContentSettings

    digest = hashlib.md5(data)
    service.get_blob_client(container, name).upload_blob(
        data, overwrite=True, content_settings=ContentSettings(content_md5=digest.digest())
    )
    return RunOutput(name, t.kind_of(name) or "", len(data), digest.hexdigest(), container)


@pytest.mark.azurite
def test_fetch_takes_exactly_the_recorded_outputs_and_checks_their_md5(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    _, stores, _, out = _containers(azurite, unique_name)
    service = stores[out]._service  # type: ignore[attr-defined]
    base = "S/abcd1234/S"
    record = (
        _put(service, out, f"{base}.bam", b"BAM" * 500),
        _put(service, out, f"{base}.vcf", b"##fileformat=VCFv4.2\n"),
    )
    _put(service, out, f"{base}.bam.bai", b"not recorded: not fetched")
    done = Run("1", RunState.SUCCEEDED, outputs=record, service="gf-a", sample="S")
    client = SeededService([done])
    result = fetch_outputs(client, stores[out], out, "1", tmp_path / "ok", kinds=None, now=NOW)
    assert sorted(f.path.name for f in result.files) == ["S.bam", "S.vcf"]
    assert all(f.verified and f.checked_against == "run record" for f in result.files)
    tags = service.get_blob_client(out, f"{base}.bam").get_blob_tags()
    assert tags[t.RUN_ID] == "gf-a:1" and t.FETCHED in tags
    assert t.FETCHED not in service.get_blob_client(out, f"{base}.bam.bai").get_blob_tags()

    # Another file swapped in under a recorded name (its own Content-MD5 is consistent).
    _put(service, out, f"{base}.vcf", b"##fileformat=VCFv4.2\n#swapped\n")
    service.get_blob_client(out, f"{base}.bam").set_blob_tags({})
    with pytest.raises(IntegrityError, match="is not what run 1 wrote") as swapped:
        fetch_outputs(client, stores[out], out, "1", tmp_path / "bad", kinds=None, now=NOW)
    assert swapped.value.exit_code == ExitCode.INTEGRITY
    assert not (tmp_path / "bad").exists()  # refused before any byte was written
    assert service.get_blob_client(out, f"{base}.bam").get_blob_tags() == {}

    # Same size, and a Content-MD5 that lies: caught once the bytes are read, file removed.
    from azure.storage.blob import ContentSettings

    forged = b"##fileformat=VCFv4.2\n"[::-1]
    _put(service, out, f"{base}.vcf", forged)
    service.get_blob_client(out, f"{base}.vcf").set_http_headers(
        ContentSettings(content_md5=bytes.fromhex(record[1].md5 or ""))
    )
    with pytest.raises(IntegrityError):
        fetch_outputs(client, stores[out], out, "1", tmp_path / "forged", kinds=None, now=NOW)
    assert not (tmp_path / "forged" / "S.vcf").exists()
    assert not list((tmp_path / "forged").glob("*.part"))
    assert t.FETCHED not in service.get_blob_client(out, f"{base}.bam").get_blob_tags()
