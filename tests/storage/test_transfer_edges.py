"""Issue 15's storage edge cases on real components: Azurite, a loopback proxy, a real tmpfs."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from genoflow.errors import UsageError
from genoflow.storage import BlobStore
from genoflow.transfer import DiskFullError, download_blob, upload_file
from tests.harness import AZURITE_ACCOUNT, AZURITE_KEY, Azurite, run_cli, tmpfs
from tests.storage.conftest import MIB, fastq_gz, random_file
from tests.storage.cutting_proxy import CuttingProxy

pytestmark = pytest.mark.azurite


def _lines(stdout: str) -> list[dict[str, object]]:
    document = json.loads(stdout)  # one document: a list of records
    return document if isinstance(document, list) else [document]


def _big_fastq_gz(path: Path, members: int = 3) -> Path:
    """Several gzip members (as bgzip writes), a few MiB: more than one upload block."""
    with path.open("wb") as out:
        for member in range(members):
            text = "".join(
                f"@r{member}_{i}\n{'ACGTTGCA' * 18}\n+\n{'IIIIFFFF' * 18}\n" for i in range(9000)
            )
            out.write(gzip.compress(text.encode(), compresslevel=0))
    return path


# --- whole-file gzip integrity on upload -------------------------------------------------------
def test_truncated_fq_gz_exits_8_and_commits_nothing(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    whole = _big_fastq_gz(tmp_path / "whole_R1.fq.gz")
    cut = tmp_path / "cut_R1.fq.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    args = ["upload", "-c", unique_name, "--block-size-mib", "1"]

    result = run_cli([*args, str(cut)], env=azurite.env())
    assert result.exit_code == 8, result.output
    assert "truncated" in result.stderr and "nothing was committed" in result.stderr
    assert store.find_blob(unique_name, "cut_R1.fq.gz") is None
    ok = run_cli([*args, str(whole), "--json"], env=azurite.env())
    assert ok.exit_code == 0, ok.output
    assert store.get_blob(unique_name, "whole_R1.fq.gz").size == whole.stat().st_size


def test_corrupt_gzip_member_exits_8(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = _big_fastq_gz(tmp_path / "bad_R1.fq.gz")
    data = bytearray(source.read_bytes())
    data[len(data) // 5] ^= 0xFF  # inside a stored block: only the CRC-32 can tell
    source.write_bytes(bytes(data))
    args = ["upload", "-c", unique_name, str(source), "--block-size-mib", "1"]  # > queue
    result = run_cli(args, env=azurite.env())
    assert result.exit_code == 8, result.output
    assert "corrupt gzip data" in result.stderr
    assert store.find_blob(unique_name, "bad_R1.fq.gz") is None


def test_bam_without_bgzf_eof_block_exits_8(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    member = zlib.compressobj(6, zlib.DEFLATED, 31)
    bam = tmp_path / "x.bam"
    bam.write_bytes(member.compress(b"BAM\x01" + b"\x00" * 100) + member.flush())
    result = run_cli(["upload", "-c", unique_name, str(bam)], env=azurite.env())
    assert result.exit_code == 8, result.output
    assert "end-of-file block" in result.stderr
    assert store.find_blob(unique_name, "x.bam") is None


# --- names: refused before any request ---------------------------------------------------------
@pytest.fixture
def counting(azurite: Azurite) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(azurite.port)
    yield proxy
    proxy.close()


def _env_via(proxy: CuttingProxy, azurite: Azurite, **extra: str) -> dict[str, str]:
    return {
        **azurite.env(),
        "GENOFLOW_STORAGE__ACCOUNT_URL": proxy.account_url(AZURITE_ACCOUNT),
        **extra,
    }


@pytest.mark.parametrize(
    "args",
    [
        ["upload", "-p", "../x"],
        ["upload", "-p", "../x//y/"],
        ["upload", "-p", "a/./b"],
        ["upload", "-p", "p" * 1020],
        ["download", "../othercont/x.fq.gz"],
        ["download", "a//b.fq.gz"],
        ["download", "x" * 1025],
    ],
)
def test_bad_names_exit_2_before_any_request(
    azurite: Azurite, counting: CuttingProxy, unique_name: str, tmp_path: Path, args: list[str]
) -> None:
    source = fastq_gz(tmp_path / "s_R1.fq.gz")
    command = [*args, "-c", unique_name]
    command += [str(source)] if args[0] == "upload" else ["-o", str(tmp_path / "out")]
    result = run_cli(command, env=_env_via(counting, azurite))
    assert result.exit_code == 2, result.output
    assert "invalid" in result.stderr and len(result.stderr) < 400
    assert counting.requests == 0
    good = run_cli(["upload", "-c", unique_name, str(source)], env=_env_via(counting, azurite))
    assert good.exit_code == 0 and counting.requests > 0  # the proxy does count


# --- least-privilege credentials ----------------------------------------------------------------
def _container_sas(container: str, permission: str = "racwl") -> str:
    return generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions.from_string(permission),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def _sas_env(azurite: Azurite, container: str, sas: str) -> dict[str, str]:
    return {
        "GENOFLOW_STORAGE__ACCOUNT_URL": azurite.account_url,
        "GENOFLOW_STORAGE__ACCOUNT_NAME": AZURITE_ACCOUNT,
        "GENOFLOW_STORAGE__SAS_TOKEN": sas,
        "GENOFLOW_STORAGE__INPUT_CONTAINER": container,
        "GENOFLOW_STORAGE__OUTPUT_CONTAINER": container,
    }


def test_container_sas_uploads_downloads_and_config_check_says_what_it_allows(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "reads.bin", 3 * MIB + 5)
    env = _sas_env(azurite, unique_name, _container_sas(unique_name))
    up = run_cli(["upload", str(source), "-p", "lab", "--json"], env=env)
    assert up.exit_code == 0, up.output
    assert store.get_blob(unique_name, "lab/reads.bin").size == source.stat().st_size
    down = run_cli(["download", "lab/reads.bin", "-o", str(tmp_path / "out"), "--json"], env=env)
    assert down.exit_code == 0, down.output
    assert (tmp_path / "out" / "reads.bin").read_bytes() == source.read_bytes()

    check = run_cli(["config", "check", "--json"], env=env)
    [storage] = [line for line in _lines(check.stdout) if line["check"] == "storage"]
    assert storage["ok"] is True, check.output
    detail = str(storage["detail"])
    assert "container SAS granting read, add, create, write, list" in detail
    assert "allows: upload, download, list" in detail and "create containers" not in detail
    assert f"container {unique_name}: exists" in detail
    assert "sig=" not in check.output


def test_container_sas_for_a_missing_container_says_so_without_trying_to_create(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    missing = unique_name + "-none"
    env = _sas_env(azurite, missing, _container_sas(missing))
    result = run_cli(["upload", str(fastq_gz(tmp_path / "a_R1.fq.gz"))], env=env)
    assert result.exit_code == 2, result.output
    assert f"container {missing} does not exist" in result.stderr
    assert "may not create it" in result.stderr


def test_read_only_sas_check_reports_download_only(azurite: Azurite, unique_name: str) -> None:
    env = _sas_env(azurite, unique_name, _container_sas(unique_name, "r"))
    check = run_cli(["config", "check", "--json"], env=env)
    [storage] = [line for line in _lines(check.stdout) if line["check"] == "storage"]
    assert storage["ok"] is True and "(allows: download)" in str(storage["detail"])


def test_ranges_reuse_one_connection(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", 48 * MIB)  # three 16 MiB ranges
    upload_file(store, source, unique_name, "big.bin")
    proxy = CuttingProxy(azurite.port)
    try:
        args = ["download", "big.bin", "-c", unique_name, "-o", str(tmp_path / "out"), "-n", "1"]
        result = run_cli(args, env=_env_via(proxy, azurite))
    finally:
        proxy.close()
    assert result.exit_code == 0, result.output
    assert proxy.bodies == 3 and proxy.connections == 1  # properties and ranges: one socket


# --- mid-body resets retried under storage.retry -------------------------------------------------
def test_download_through_proxy_cutting_30_percent_of_bodies_completes_in_one_command(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", 40 * MIB + 3)
    upload_file(store, source, unique_name, "big.bin")
    proxy = CuttingProxy(azurite.port, cut_share=0.3)
    try:
        config = tmp_path / "genoflow.yaml"
        config.write_text(
            "storage:\n  retry:\n    attempts: 20\n    initial_delay: 0.05\n    max_delay: 0.2\n"
        )
        env = _env_via(proxy, azurite, GENOFLOW_CONFIG=str(config))
        args = ["download", "big.bin", "-c", unique_name, "-o", str(tmp_path / "out"), "--json"]
        result = run_cli([*args, "-n", "4"], env=env)
    finally:
        proxy.close()
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "big.bin").read_bytes() == source.read_bytes()
    assert _lines(result.stdout)[0]["verified"] is True
    assert proxy.cuts >= 2 and proxy.cuts / proxy.bodies > 0.15, (proxy.cuts, proxy.bodies)
    assert "Unable to stream" not in result.stderr


@pytest.mark.parametrize(("attempts", "exit_code"), [(20, 0), (4, 6)])
def test_a_body_cut_four_times_in_a_row_is_retried_within_storage_retry(
    azurite: Azurite,
    store: BlobStore,
    unique_name: str,
    tmp_path: Path,
    attempts: int,
    exit_code: int,
) -> None:
    """More cuts of one range than the SDK's own 3-try loop took: storage.retry decides."""
    source = random_file(tmp_path / "one.bin", 5 * MIB)
    upload_file(store, source, unique_name, "one.bin")
    proxy = CuttingProxy(azurite.port, cut_first=4)
    try:
        env = _env_via(
            proxy,
            azurite,
            GENOFLOW_STORAGE__RETRY__ATTEMPTS=str(attempts),
            GENOFLOW_STORAGE__RETRY__INITIAL_DELAY="0.01",
        )
        args = ["download", "one.bin", "-c", unique_name, "-o", str(tmp_path / "out"), "-n", "1"]
        result = run_cli(args, env=env)
    finally:
        proxy.close()
    assert result.exit_code == exit_code, result.output
    assert proxy.cuts == 4
    if exit_code:
        assert "after 4 tries" in result.stderr and not (tmp_path / "out" / "one.bin").exists()
    else:
        assert (tmp_path / "out" / "one.bin").read_bytes() == source.read_bytes()


def test_killed_download_resumes_from_its_journal_fetching_only_the_rest(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    """SIGKILL mid-download (a real process, slowed by the proxy), then the same command."""
    source = random_file(tmp_path / "big.bin", 64 * MIB)  # four 16 MiB ranges
    upload_file(store, source, unique_name, "big.bin")
    out = tmp_path / "out"
    args = ["download", "big.bin", "-c", unique_name, "-o", str(out), "-n", "1", "--json"]
    proxy = CuttingProxy(azurite.port, body_delay=0.5)
    try:
        outer = {k: v for k, v in os.environ.items() if not k.startswith("GENOFLOW_")}
        env = {**outer, **_env_via(proxy, azurite)}
        child = subprocess.Popen([sys.executable, "-m", "genoflow", *args], env=env)
        journal = out / "big.bin.part.log"
        deadline = time.monotonic() + 60
        while not (journal.exists() and len(journal.read_text().splitlines()) >= 3):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)  # two ranges journaled, the rest not
        child.wait()
        proxy.wait_idle()  # the range the killed process was reading is counted before
        before = proxy.bodies
        rerun = run_cli(args, env=_env_via(proxy, azurite))
    finally:
        proxy.close()
    assert rerun.exit_code == 0, rerun.output
    summary = _lines(rerun.stdout)[0]
    assert summary["chunks_reused"] >= 2 and summary["chunks_fetched"] <= 2
    assert proxy.bodies - before == summary["chunks_fetched"]  # only the missing ranges
    assert summary["bytes_sent"] == summary["chunks_fetched"] * 16 * MIB  # what this run moved
    assert "sent, the rest resumed" in rerun.stderr
    assert (out / "big.bin").read_bytes() == source.read_bytes()
    assert not journal.exists() and not (out / "big.bin.part").exists()


# --- disk full ----------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB tmpfs (needs root), unmounted afterwards."""
    with tmpfs(tmp_path / "small", "8m") as mount:
        yield mount


def test_download_to_a_full_disk_exits_6_then_resumes_when_space_is_freed(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path, small_disk: Path
) -> None:
    source = random_file(tmp_path / "big.bin", 5 * MIB)
    upload_file(store, source, unique_name, "big.bin")
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (6 * MIB))
    args = ["download", "big.bin", "-c", unique_name, "-o", str(small_disk / "out")]
    full = run_cli(args, env=azurite.env())
    assert full.exit_code == 6, full.output
    assert f"no space left in {small_disk / 'out'} for big.bin.part" in full.stderr
    assert "needs 5.0 MiB more" in full.stderr and "run the same command again" in full.stderr
    filler.unlink()
    again = run_cli(args, env=azurite.env())
    assert again.exit_code == 0, again.output
    assert (small_disk / "out" / "big.bin").read_bytes() == source.read_bytes()


def test_disk_filling_midway_keeps_the_part_and_the_rerun_fetches_only_the_rest(
    store: BlobStore,
    unique_name: str,
    tmp_path: Path,
    small_disk: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a filesystem that cannot preallocate, the disk may fill while ranges arrive."""
    monkeypatch.setattr("genoflow.transfer.download.preallocate", lambda fd, size: False)
    source = random_file(tmp_path / "big.bin", 4 * MIB)
    upload_file(store, source, unique_name, "big.bin")
    filler = small_disk / "filler"

    def fill_after_first_range(count: int) -> None:
        if not filler.exists():  # leave less than the next range
            stat = os.statvfs(small_disk)
            filler.write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - MIB // 2))

    out = small_disk / "out"
    out.mkdir()
    with pytest.raises(DiskFullError) as raised:
        download_blob(
            store, unique_name, "big.bin", out, chunk_size=MIB, concurrency=1,
            progress=fill_after_first_range,
        )  # fmt: skip
    assert raised.value.needed == 3 * MIB and "No space left" in str(raised.value)
    assert (out / "big.bin.part").exists() and (out / "big.bin.part.log").exists()
    filler.unlink()
    result = download_blob(store, unique_name, "big.bin", out, chunk_size=MIB)
    assert (result.chunks_reused, result.chunks_fetched) == (1, 3)
    assert (out / "big.bin").read_bytes() == source.read_bytes()


# --- exit codes ---------------------------------------------------------------------------------
def test_overwrite_onto_a_directory_names_it_and_leaves_no_part(
    azurite: Azurite, store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    upload_file(store, random_file(tmp_path / "reads.bin", 1000), unique_name, "reads.bin")
    out = tmp_path / "out"
    (out / "reads.bin").mkdir(parents=True)
    args = ["download", "reads.bin", "-c", unique_name, "-o", str(out), "--overwrite"]
    result = run_cli(args, env=azurite.env())
    assert result.exit_code == 2, result.output
    assert f"{out / 'reads.bin'} is a directory" in result.stderr
    assert not list(out.glob("*.part*"))


def test_non_base64_account_key_is_a_setting_error(
    azurite: Azurite, unique_name: str, tmp_path: Path
) -> None:
    env = {**azurite.env(), "GENOFLOW_STORAGE__ACCOUNT_KEY": "not-a-key!!"}
    result = run_cli(["upload", str(fastq_gz(tmp_path / "a_R1.fq.gz")), "-c", unique_name], env)
    assert result.exit_code == 2, result.output
    assert "storage.account_key is not a valid account key" in result.stderr
    assert "not-a-key" not in result.output


def test_invalid_block_list_is_bad_input_not_unavailable(
    store: BlobStore, unique_name: str
) -> None:
    with pytest.raises(UsageError, match="InvalidBlockList"):
        store.commit_blocks(unique_name, "x.bin", ["never-staged"], content_md5=b"\0" * 16)


def test_config_path_that_is_a_directory_is_reported(tmp_path: Path) -> None:
    given = run_cli(["config", "show", "-f", str(tmp_path)])
    assert given.exit_code == 2 and "is a directory, not a file" in given.stderr
    (tmp_path / "genoflow.yaml").mkdir()
    implicit = run_cli(["config", "show"], cwd=tmp_path)
    assert implicit.exit_code == 2, implicit.output
    assert f"{tmp_path / 'genoflow.yaml'} (looked up by default) is a directory" in implicit.stderr
