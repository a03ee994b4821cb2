"""Block layout of an upload: block size from the file size, and deterministic block ids.

A block id is ``{index:05d}-{block size:010d}-{md5 of the block, hex}`` (49 characters, the same
length for every block, as the service requires). Because the id names the block's content, a
second process can tell from the uncommitted block list alone which blocks of the file as it is
*now* are already staged, and which staged blocks no longer match the file.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from genoflow.errors import InputError

MIB = 1024 * 1024
MAX_BLOCKS = 50_000
MAX_BLOCK_SIZE = 4000 * MIB
MIN_BLOCK_SIZE = 8 * MIB  # fewer, larger requests: throughput and request cost
# Blocks read ahead and in flight stay under this many bytes (the memory bound of an upload).
IN_FLIGHT_BUDGET = 160 * MIB

_ID = re.compile(r"^(\d{5})-(\d{10})-([0-9a-f]{32})$")


def choose_block_size(file_size: int, requested: int | None = None) -> int:
    """The block size for a file: ``requested`` if given and valid, else the smallest whole
    number of MiB >= 8 MiB that keeps the file within 50,000 blocks."""
    if file_size > MAX_BLOCKS * MAX_BLOCK_SIZE:
        raise InputError(
            f"file of {file_size} bytes exceeds the block blob limit "
            f"({MAX_BLOCKS} blocks of 4000 MiB)"
        )
    if requested is not None:
        if not 0 < requested <= MAX_BLOCK_SIZE:
            raise InputError(f"block size must be 1 byte to 4000 MiB, not {requested}")
        if block_count(file_size, requested) > MAX_BLOCKS:
            raise InputError(
                f"a block size of {requested // MIB} MiB needs more than "
                f"{MAX_BLOCKS} blocks for this file",
                hint="leave storage.block_size_mib unset to choose it from the size",
            )
        return requested
    needed = -(-file_size // MAX_BLOCKS)
    whole_mib = -(-needed // MIB) * MIB
    return max(MIN_BLOCK_SIZE, whole_mib)


def block_count(file_size: int, block_size: int) -> int:
    return -(-file_size // block_size)


def in_flight_limit(block_size: int, concurrency: int) -> int:
    """How many blocks may be read ahead or uploading at once."""
    return max(1, min(concurrency, IN_FLIGHT_BUDGET // block_size))


def block_id(index: int, block_size: int, md5_hex: str) -> str:
    return f"{index:05d}-{block_size:010d}-{md5_hex}"


@dataclass(frozen=True)
class ParsedId:
    index: int
    block_size: int
    md5_hex: str


def parse_block_id(value: str) -> ParsedId | None:
    """The parts of one of our block ids (None for ids another tool staged)."""
    match = _ID.match(value)
    if not match:
        return None
    return ParsedId(int(match[1]), int(match[2]), match[3])


def transfer_summary(result: Any, status: str) -> dict[str, Any]:
    """The ``--json`` / summary-line form of an upload or download result."""
    data: dict[str, Any] = asdict(result)
    seconds = float(data["seconds"])
    # The rate of what this run moved: a resumed transfer does not claim the whole file's speed.
    moved = data.get("bytes_sent", data["bytes"])
    data["mib_per_s"] = round(moved / MIB / seconds, 2) if seconds > 0 else 0.0
    data["seconds"] = round(seconds, 3)
    data["status"] = status
    return data
