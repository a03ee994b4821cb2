"""Acceptance tests of `genoflow upload` / `genoflow download` against a real Azurite."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genoflow.storage import BlobStore
from tests.harness import AZURITE_KEY, Azurite, free_port, run_cli, run_cli_subprocess
from tests.storage.conftest import MIB, fastq_gz, random_file

pytestmark = pytest.mark.azurite


def md5_hex(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def json_lines(stdout: str) -> list[dict[str, object]]:
    document = json.loads(stdout)  # one document: a list of records
    return document if isinstance(document, list) else [document]


def test_upload_then_download_round_trips_byte_identical(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "reads.bin", 5 * MIB + 12345)  # > 4 blocks of 1 MiB
    up = run_cli(
        [
            "upload",
            str(source),
            "--container",
            unique_name,
            "--prefix",
            "s1",
            "--block-size-mib",
            "1",
            "--json",
        ],
        env=azurite.env(),
    )
    assert up.exit_code == 0, up.stderr
    [summary] = json_lines(up.stdout)
    assert summary["status"] == "uploaded" and summary["blocks"] == 6
    assert summary["md5"] == md5_hex(source)
    info = store.get_blob(unique_name, "s1/reads.bin")
    assert info.md5 == md5_hex(source) and info.size == source.stat().st_size

    out_dir = tmp_path / "out"
    down = run_cli(
        ["download", "s1/reads.bin", "--container", unique_name, "-o", str(out_dir), "--json"],
        env=azurite.env(),
    )
    assert down.exit_code == 0, down.stderr
    assert (out_dir / "reads.bin").read_bytes() == source.read_bytes()
    assert not list(out_dir.glob("*.part*"))
    assert json_lines(down.stdout)[0]["verified"] is True


def test_rerun_of_finished_upload_transfers_nothing_and_says_so(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = fastq_gz(tmp_path / "sample_R1.fastq.gz")
    args = ["upload", str(source), "--container", unique_name]
    assert run_cli(args, env=azurite.env()).exit_code == 0
    etag = store.get_blob(unique_name, "sample_R1.fastq.gz").etag

    again = run_cli(args, env=azurite.env())
    assert again.exit_code == 0, again.stderr
    assert "skipped" in again.stdout and "already up to date" in again.stderr
    assert store.get_blob(unique_name, "sample_R1.fastq.gz").etag == etag  # not rewritten
    as_json = run_cli([*args, "--json"], env=azurite.env())
    assert json_lines(as_json.stdout)[0]["skipped"] is True


def test_different_existing_blob_needs_overwrite(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "data.bin", 1000)
    args = ["upload", str(source), "--container", unique_name]
    assert run_cli(args, env=azurite.env()).exit_code == 0
    random_file(source, 2000)

    refused = run_cli(args, env=azurite.env())
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert store.get_blob(unique_name, "data.bin").size == 1000

    replaced = run_cli([*args, "--overwrite"], env=azurite.env())
    assert replaced.exit_code == 0, replaced.stderr
    assert store.get_blob(unique_name, "data.bin").md5 == md5_hex(source)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("reads.fastq.gz", b"@r1\nACGT\n+\nIIII\n", "not gzip"),
        ("reads.fq", b">chr1\nACGT\n", "must start with '@'"),
        ("reads.fastq", b"@r1\nACGT\n+\nIII\n", "lengths differ"),
        ("aligned.bam", b"\x1f\x8b" + b"\x00" * 30, "BAM"),
    ],
)
def test_wrong_input_fails_with_exit_2_before_any_byte_is_sent(
    azurite: Azurite,
    store: BlobStore,
    unique_name: str,
    tmp_path: Path,
    name: str,
    content: bytes,
    message: str,
) -> None:
    good = fastq_gz(tmp_path / "good_R1.fastq.gz")
    bad = tmp_path / name
    bad.write_bytes(content)
    result = run_cli(["upload", str(good), str(bad), "--container", unique_name], env=azurite.env())
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(store.list_blobs(unique_name)) == []
    assert store.uncommitted_blocks(unique_name, "good_R1.fastq.gz") == []


def test_wrong_account_key_exits_7_with_one_line(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "data.bin", 100)
    wrong_key = "A" * 86 + "=="
    env = {**azurite.env(), "GENOFLOW_STORAGE__ACCOUNT_KEY": wrong_key}
    result = run_cli(["upload", str(source), "--container", unique_name], env=env)
    assert result.exit_code == 7
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "devstoreaccount1" in lines[0]
    assert wrong_key not in result.output and AZURITE_KEY not in result.output


def test_unreachable_endpoint_exits_6_in_a_second_with_one_line(tmp_path: Path) -> None:
    """A closed port is not an outage to sit out: one quick retry, then one line (with the
    default storage.retry, which would otherwise wait ~30 s)."""
    source = random_file(tmp_path / "data.bin", 100)
    endpoint = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    env = {
        "GENOFLOW_STORAGE__ACCOUNT_URL": endpoint,
        "GENOFLOW_STORAGE__ACCOUNT_NAME": "devstoreaccount1",
        "GENOFLOW_STORAGE__ACCOUNT_KEY": AZURITE_KEY,
    }
    for args in (["upload", str(source), "-c", "inputs"], ["download", "x", "-c", "outputs"]):
        started = time.monotonic()
        result = run_cli([*args, "-o", str(tmp_path)] if args[0] == "download" else args, env=env)
        assert time.monotonic() - started < 3
        assert result.exit_code == 6
        [line] = result.stderr.splitlines()
        assert line.startswith(f"genoflow: error: cannot reach storage at {endpoint} while ")
        assert "connection refused" in line and "storage.account_url" in line
        assert "HTTPConnection" not in line and AZURITE_KEY not in line


def test_download_of_archived_blob_explains_rehydration(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "old.bam.bin", 1000)
    assert (
        run_cli(["upload", str(source), "--container", unique_name], env=azurite.env()).exit_code
        == 0
    )
    assert store.set_tiers(unique_name, [("old.bam.bin", "Archive")]) == []

    result = run_cli(
        ["download", "old.bam.bin", "--container", unique_name, "-o", str(tmp_path / "out")],
        env=azurite.env(),
    )
    assert result.exit_code == 2
    assert "Archive" in result.stderr and "--rehydrate-priority" in result.stderr
    assert not (tmp_path / "out" / "old.bam.bin").exists()


# --- kill and resume ---------------------------------------------------------------------------
BLOCKS = 24


def _subprocess_env(azurite: Azurite, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GENOFLOW_", "AZURE_STORAGE_"))}
    env.update(azurite.env())
    env.update(extra)
    return env


def wait_until_staged(
    store: BlobStore, container: str, name: str, count: int, child: subprocess.Popen[bytes]
) -> None:
    """Until the child upload has staged ``count`` blocks (it must not end first)."""
    deadline = time.monotonic() + 60
    while len(store.uncommitted_blocks(container, name)) < count:
        assert child.poll() is None, "the upload ended before it could be stopped"
        assert time.monotonic() < deadline, f"fewer than {count} blocks staged in 60 s"
        time.sleep(0.02)


def _upload_args(source: Path, container: str) -> list[str]:
    return [
        "upload",
        str(source),
        "--container",
        container,
        "--block-size-mib",
        "1",
        "--concurrency",
        "2",
        "--json",
    ]


def _kill_midway(azurite: Azurite, store: BlobStore, source: Path, container: str) -> set[str]:
    """Start the upload in a child process, SIGKILL it once a few blocks are staged; return the
    staged block ids."""
    env = _subprocess_env(azurite, GENOFLOW_TEST_STAGE_DELAY="0.15")
    child = subprocess.Popen(
        [sys.executable, "-m", "genoflow", *_upload_args(source, container)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_staged(store, container, source.name, 4, child)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    staged = {block.block_id for block in store.uncommitted_blocks(container, source.name)}
    assert 4 <= len(staged) < BLOCKS
    assert store.find_blob(container, source.name) is None  # nothing committed yet
    return staged


def test_killed_upload_resumes_without_resending_staged_blocks(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", BLOCKS * MIB)
    staged = _kill_midway(azurite, store, source, unique_name)

    rerun = run_cli_subprocess(_upload_args(source, unique_name), env=azurite.env())
    assert rerun.returncode == 0, rerun.stderr
    [summary] = json_lines(rerun.stdout)
    assert summary["blocks_reused"] == len(staged)
    assert summary["blocks_sent"] == BLOCKS - len(staged)
    assert summary["bytes_sent"] == (BLOCKS - len(staged)) * MIB  # what this run sent
    assert "sent, the rest resumed" in rerun.stderr
    committed = store.committed_block_ids(unique_name, source.name)
    assert staged <= set(committed) and len(committed) == BLOCKS
    assert store.get_blob(unique_name, source.name).md5 == md5_hex(source)


def test_byte_flipped_after_kill_is_detected_and_nothing_committed(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", BLOCKS * MIB)
    staged = _kill_midway(azurite, store, source, unique_name)
    staged_index = int(sorted(staged)[0].split("-")[0])
    with source.open("r+b") as handle:  # flip one byte inside an already staged block
        handle.seek(staged_index * MIB + 777)
        byte = handle.read(1)
        handle.seek(staged_index * MIB + 777)
        handle.write(bytes([byte[0] ^ 0xFF]))

    rerun = run_cli_subprocess(_upload_args(source, unique_name), env=azurite.env())
    assert rerun.returncode == 8, rerun.stderr
    assert "changed" in rerun.stderr and len(rerun.stderr.strip().splitlines()) == 1
    assert store.find_blob(unique_name, source.name) is None

    restarted = run_cli_subprocess(
        [*_upload_args(source, unique_name), "--restart"], env=azurite.env()
    )
    assert restarted.returncode == 0, restarted.stderr
    assert store.get_blob(unique_name, source.name).md5 == md5_hex(source)
