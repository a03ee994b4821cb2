"""The BlobStore contract and the transfer library, against a real Azurite."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from genoflow.errors import AuthError, IntegrityError, NotFoundError, UnavailableError, UsageError
from genoflow.storage import (
    BlobStore,
    LockHeldError,
    open_blob_with_sas,
    open_container_with_sas,
    open_store,
)
from genoflow.transfer import download_blob, upload_file
from genoflow.transfer.download import PIECE
from tests.harness import Azurite
from tests.storage.conftest import MIB, azurite_config, random_file

pytestmark = pytest.mark.azurite


def test_missing_blob_raises_not_found_and_find_returns_none(
    store: BlobStore, unique_name: str
) -> None:
    with pytest.raises(NotFoundError):
        store.get_blob(unique_name, "nope")
    assert store.find_blob(unique_name, "nope") is None


def test_tags_and_metadata_merge_and_list_shows_them(store: BlobStore, unique_name: str) -> None:
    store.put_blob(unique_name, "a/x.vcf", b"vcf", metadata={"m1": "1"}, tags={"t1": "a"})
    store.put_blob(unique_name, "b/y.vcf", b"other")
    store.set_tags(unique_name, "a/x.vcf", {"t2": "b"})
    store.set_metadata(unique_name, "a/x.vcf", {"m2": "2"})

    [listed] = store.list_blobs(unique_name, "a/", include_tags=True)
    assert listed.tags == {"t1": "a", "t2": "b"}
    assert listed.metadata == {"m1": "1", "m2": "2"}
    assert listed.md5 == hashlib.md5(b"vcf").hexdigest() and listed.size == 3
    assert [b.tags for b in store.list_blobs(unique_name, "b/")] == [None]  # only when asked

    # run ids accumulate: an input reused by a second run names both
    store.set_tags(unique_name, "a/x.vcf", {"run": "11"}, accumulate={"run"})
    store.set_tags(unique_name, "a/x.vcf", {"run": "12", "t1": "c"}, accumulate={"run"})
    store.set_tags(unique_name, "a/x.vcf", {"run": "11"}, accumulate={"run"})
    [listed] = store.list_blobs(unique_name, "a/", include_tags=True)
    assert listed.tags == {"t1": "c", "t2": "b", "run": "11 12"}


def test_merge_tags_keeps_accumulated_values_within_the_tag_limit() -> None:
    from genoflow.storage.base import TAG_VALUE_LIMIT, merge_tags

    current = {"run": " ".join(str(n) for n in range(100))}  # 289 characters
    merged = merge_tags(current, {"run": "new"}, accumulate={"run"})
    assert len(merged["run"]) <= TAG_VALUE_LIMIT and merged["run"].endswith(" 99 new")
    assert merge_tags({"a": "x"}, {"a": "y"}) == {"a": "y"}


def test_set_tiers_batches_256_per_request_and_reports_failures(
    store: BlobStore, unique_name: str
) -> None:
    names = [f"blob-{i:03d}" for i in range(260)]
    for name in names:
        store.put_blob(unique_name, name, b"x")
    failures = store.set_tiers(unique_name, [(n, "Cool") for n in names] + [("missing", "Cold")])

    assert [(f.name, f.status, f.tier) for f in failures] == [("missing", 404, "Cold")]
    assert store.batch_requests == 2  # type: ignore[attr-defined]
    assert {b.tier for b in store.list_blobs(unique_name)} == {"Cool"}

    assert store.delete_blobs(unique_name, [*names[:10], "missing"]) == []
    assert len(list(store.list_blobs(unique_name))) == 250


def test_lock_is_exclusive_until_released(store: BlobStore, unique_name: str) -> None:
    with store.acquire_lock(unique_name, "tiering.lock", seconds=15) as lease:
        lease.renew()
        with pytest.raises(LockHeldError, match="held by another job"):
            store.acquire_lock(unique_name, "tiering.lock", seconds=15)
    store.acquire_lock(unique_name, "tiering.lock", seconds=15).release()


def test_read_sas_reads_one_blob_and_cannot_write(
    store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    store.put_blob(unique_name, "in/r1.fq", b"@r\nACGT\n+\nIIII\n")
    token = store.blob_read_sas(unique_name, "in/r1.fq", hours=1)
    assert token.startswith("sv=") and "sp=r" in token

    ref = open_blob_with_sas(store.blob_url(unique_name, "in/r1.fq", sas=token))
    result = download_blob(ref.store, ref.container, ref.name, tmp_path)
    assert (tmp_path / "r1.fq").read_bytes() == b"@r\nACGT\n+\nIIII\n" and result.verified
    with pytest.raises(AuthError):
        ref.store.put_blob(ref.container, "in/other", b"no")


def test_container_sas_writes_outputs_but_cannot_list(
    store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    token = store.container_sas(unique_name, hours=1)
    assert token.startswith("sv=") and "sp=rwd" in token
    with pytest.raises(UsageError):
        store.container_sas(unique_name, hours=1, permission="rl")

    ref = open_container_with_sas(f"{store.account_url}/{unique_name}", token)
    source = random_file(tmp_path / "out.bam", 3 * MIB)
    result = upload_file(ref.store, source, ref.container, "run1/out.bam", block_size=MIB)
    assert result.blocks == 3
    assert store.get_blob(unique_name, "run1/out.bam").md5 == result.md5
    with pytest.raises(AuthError):
        list(ref.store.list_blobs(ref.container))


def _fail_after(monkeypatch: pytest.MonkeyPatch, store: BlobStore, method: str, calls: int) -> None:
    """Make ``store.method`` fail (as a dropped network would) after ``calls`` calls."""
    original = getattr(store, method)
    count = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        count["n"] += 1
        if count["n"] > calls:
            raise UnavailableError("network dropped (injected)")
        return original(*args, **kwargs)

    monkeypatch.setattr(store, method, flaky)


def test_resumed_upload_sends_only_missing_blocks_counted_in_http_requests(
    azurite: Azurite,
    store: BlobStore,
    unique_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = random_file(tmp_path / "reads.bin", 10 * MIB)
    _fail_after(monkeypatch, store, "stage_block", 4)
    with pytest.raises(UnavailableError):
        upload_file(store, source, unique_name, "reads.bin", block_size=MIB, concurrency=1)
    staged = store.uncommitted_blocks(unique_name, "reads.bin")
    assert len(staged) == 4

    fresh = open_store(azurite_config(azurite))
    result = upload_file(fresh, source, unique_name, "reads.bin", block_size=MIB, concurrency=3)
    assert (result.blocks_reused, result.blocks_sent) == (4, 6)
    assert fresh.requests["PUT block"] == 6  # type: ignore[attr-defined]
    assert (
        fresh.get_blob(unique_name, "reads.bin").md5 == hashlib.md5(source.read_bytes()).hexdigest()
    )


def test_interrupted_download_resumes_from_its_journal(
    store: BlobStore, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random_file(tmp_path / "src.bin", 5 * MIB + 7).read_bytes()
    store.put_blob(unique_name, "res/out.bin", data)
    out = tmp_path / "out"
    out.mkdir()
    _fail_after(monkeypatch, store, "read_range_to", 2)
    with pytest.raises(UnavailableError):
        download_blob(store, unique_name, "res/out.bin", out, chunk_size=MIB, concurrency=1)
    assert (out / "out.bin.part").exists() and not (out / "out.bin").exists()
    monkeypatch.undo()

    result = download_blob(store, unique_name, "res/out.bin", out, chunk_size=MIB)
    assert (result.chunks_reused, result.chunks_fetched) == (2, 4)
    assert (out / "out.bin").read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["out.bin"]


def test_download_memory_is_pieces_not_ranges(
    store: BlobStore, unique_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ranges of 4 MiB arrive through 1 MiB buffers, in order within each range."""
    data = random_file(tmp_path / "src.bin", 9 * MIB + 5).read_bytes()
    store.put_blob(unique_name, "mem/out.bin", data)
    buffers: list[int] = []
    pieces: list[tuple[int, int]] = []
    original = store.read_range_to

    def recording(
        container: str, name: str, offset: int, length: int, sink: Any, buffer: Any, **kw: Any
    ) -> None:
        buffers.append(len(buffer))

        def noting(at: int, piece: memoryview) -> None:
            pieces.append((at, len(piece)))
            sink(at, piece)

        original(container, name, offset, length, noting, buffer, **kw)

    monkeypatch.setattr(store, "read_range_to", recording)
    out = tmp_path / "out.bin"
    download_blob(store, unique_name, "mem/out.bin", out, chunk_size=4 * MIB, concurrency=2)
    assert out.read_bytes() == data
    assert len(buffers) == 3 and set(buffers) == {PIECE}
    assert max(length for _, length in pieces) <= PIECE
    assert sorted(pieces) == sorted(set(pieces))  # each byte handed over once
    assert sum(length for _, length in pieces) == len(data)


def test_download_with_wrong_content_md5_fails_and_leaves_nothing(
    store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    store.stage_block(
        unique_name, "bad.bin", "b0", b"real data", hashlib.md5(b"real data").digest()
    )
    store.commit_blocks(unique_name, "bad.bin", ["b0"], content_md5=hashlib.md5(b"x").digest())
    with pytest.raises(IntegrityError, match="MD5"):
        download_blob(store, unique_name, "bad.bin", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_retry_round_keeps_what_earlier_rounds_did(store: BlobStore) -> None:
    """Round 1: a succeeds, b gets a 503; the retry for b cannot be sent at all."""
    from types import SimpleNamespace

    from genoflow.errors import UnavailableError

    def answer(status: int) -> SimpleNamespace:
        return SimpleNamespace(status_code=status, headers={}, reason="")

    rounds: list[list[str]] = []

    def send(chunk):  # type: ignore[no-untyped-def]
        rounds.append(list(chunk))
        if len(rounds) == 1:
            return [answer(202), answer(503)]
        raise UnavailableError("storage unreachable")

    failures = store._run_batches(  # type: ignore[attr-defined]
        "c", ["a", "b"], send, ok=(200, 202), sleep=lambda _: None
    )
    assert rounds == [["a", "b"], ["b"]]
    assert [(f.name, f.status, f.message) for f in failures] == [("b", 0, "storage unreachable")]

    def never_answered(chunk):  # type: ignore[no-untyped-def]
        raise UnavailableError("storage unreachable")

    with pytest.raises(UnavailableError):  # nothing was done: the caller sees the error itself
        store._run_batches(  # type: ignore[attr-defined]
            "c", ["a"], never_answered, ok=(200, 202), sleep=lambda _: None
        )
