"""A cancel event set mid-transfer stops it between blocks: nothing committed, nothing placed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from genoflow.storage import BlobStore
from genoflow.transfer import TransferCancelled, download_blob, upload_file
from tests.storage.conftest import MIB, random_file

pytestmark = pytest.mark.azurite


def _cancel_after_first(cancel: threading.Event) -> tuple[list[int], Callable[[int], None]]:
    seen: list[int] = []

    def progress(count: int) -> None:
        seen.append(count)
        cancel.set()

    return seen, progress


def test_upload_cancelled_midway_commits_nothing(
    store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "big.bin", 5 * MIB)
    cancel = threading.Event()
    seen, progress = _cancel_after_first(cancel)
    with pytest.raises(TransferCancelled, match="nothing was committed"):
        upload_file(
            store, source, unique_name, "big.bin", block_size=MIB, concurrency=1,
            progress=progress, cancel=cancel,
        )  # fmt: skip
    assert len(seen) == 1  # one block went out, then it stopped
    assert store.find_blob(unique_name, "big.bin") is None
    assert len(store.uncommitted_blocks(unique_name, "big.bin")) == 1


def test_upload_cancelled_before_commit_commits_nothing(
    store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    """Even with every block sent, a cancel seen before the commit keeps the blob uncommitted."""
    source = random_file(tmp_path / "one.bin", MIB // 2)
    cancel = threading.Event()
    _, progress = _cancel_after_first(cancel)
    with pytest.raises(TransferCancelled):
        upload_file(store, source, unique_name, "one.bin", progress=progress, cancel=cancel)
    assert store.find_blob(unique_name, "one.bin") is None


def test_download_cancelled_midway_places_nothing(
    store: BlobStore, unique_name: str, tmp_path: Path
) -> None:
    source = random_file(tmp_path / "src.bin", 4 * MIB)
    upload_file(store, source, unique_name, "src.bin")
    cancel = threading.Event()
    seen, progress = _cancel_after_first(cancel)
    target = tmp_path / "out" / "src.bin"
    with pytest.raises(TransferCancelled):
        download_blob(
            store, unique_name, "src.bin", target, chunk_size=MIB, concurrency=1,
            progress=progress, cancel=cancel,
        )  # fmt: skip
    assert len(seen) == 1
    assert not target.exists()
