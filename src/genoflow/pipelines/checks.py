"""Input checks run before the engine starts, with the old service's failure codes.

One streaming pass over the inputs: FASTQ pairs are read in lockstep (gzip or plain, decided by
the magic bytes), a BAM is read with pysam. The pass also counts ``BasesProcessed``.

Codes (``Error Code [n]: ...`` in the run's Message, ``n`` in FailureCode). 300-308, 200-203 and
701 are the Microsoft Genomics meanings; 310-314 are genoflow's own for cases it did not list.

===== ==========================================================================================
300   FASTQ: the file does not end with a newline
302   FASTQ: blank line
303   FASTQ: a record does not start with '@' or its third line with '+' (not FASTQ)
304   FASTQ: a read in the first file of a pair ends in /2
305   FASTQ: a read in the second file of a pair ends in /1
306   FASTQ: the second mate ends in /2 but the first does not end in /1
307   FASTQ: the first mate ends in /1 but the second does not end in /2
308   FASTQ: the two files of a pair disagree: different read names or read counts
310   FASTQ: the name says gzip (.gz) but the file is not gzip-compressed
311   FASTQ: the gzip stream is truncated or corrupt
312   FASTQ: sequence and quality lines differ in length
313   FASTQ: the file holds no reads
314   FASTQ: the last record is incomplete (fewer than four lines)
200   BAM: unreadable, not a BAM file
201   BAM: truncated (no end-of-file marker, or data ends inside a block)
202   BAM: the header is corrupt
203   BAM: a primary read has no sequence
701   a read is longer than the limit (``max_read_length``, default 10 000 bases)
===== ==========================================================================================
"""

from __future__ import annotations

import gzip
import queue
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, cast

from genoflow.errors import InputError, UsageError

MAX_READ_LENGTH = 10_000
CHUNK_SIZE = 4 << 20
STOP_POLL_READS = 65_536  # a BAM's reads between two looks at ``stop``
GZIP_MAGIC = b"\x1f\x8b"
# the empty BGZF block every complete BAM ends with (SAM/BAM specification, section 4.1.2)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

_READ_NAME = re.compile(rb"^@([^ \t\n]*)", re.MULTILINE)
_FIRST_BYTE = itemgetter(0)
_SUFFIX = itemgetter(slice(-2, None))
_WITHOUT_SUFFIX = itemgetter(slice(None, -2))
_MATE_SUFFIXES = (b"/1", b"/2")


class InputCheckError(InputError):
    """An input failed a check; ``str()`` is ``Error Code [n]: ...`` as the old service said."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"Error Code [{code}]: {message}")
        self.code = code


class ChecksStopped(Exception):
    """The checks were stopped (``stop`` set) before they finished: no verdict."""


@dataclass(frozen=True)
class InputStats:
    bases: int  # sum of read lengths: the BasesProcessed billing basis
    reads: int


def check_inputs(
    fastq_pairs: Sequence[tuple[Path, Path]] = (),
    bam: Path | None = None,
    *,
    max_read_length: int = MAX_READ_LENGTH,
    stop: threading.Event | None = None,
) -> InputStats:
    """Check FASTQ pairs (or one BAM); raise ``InputCheckError`` on the first problem.

    ``stop``, once set, ends the pass between batches of reads with ``ChecksStopped``."""
    stop = stop or threading.Event()
    if bam is not None:
        return _check_bam(bam, max_read_length, stop)
    if not fastq_pairs:
        raise UsageError("no input to check: give FASTQ pairs or one BAM")
    bases = reads = 0
    for r1, r2 in fastq_pairs:
        stats = _check_pair(r1, r2, max_read_length, stop)
        bases += stats.bases
        reads += stats.reads
    return InputStats(bases=bases, reads=reads)


# --- FASTQ --------------------------------------------------------------------------------


@dataclass
class _Batch:
    names: list[bytes]
    first_record: int  # 1-based number of names[0] in its file


def _check_pair(r1: Path, r2: Path, max_read_length: int, stop: threading.Event) -> InputStats:
    first, second = _FastqFile(r1, max_read_length), _FastqFile(r2, max_read_length)
    pending1: list[bytes] = []
    pending2: list[bytes] = []
    record = 1  # 1-based number of pending1[0]
    batches1, batches2 = first.batches(), second.batches()
    exhausted1 = exhausted2 = False
    while True:  # read from whichever file is behind, compare what both have
        if stop.is_set():
            raise ChecksStopped
        if not exhausted1 and len(pending1) <= len(pending2):
            batch = next(batches1, None)
            exhausted1 = batch is None
            pending1 += batch.names if batch else []
        elif not exhausted2 and len(pending2) <= len(pending1):
            batch = next(batches2, None)
            exhausted2 = batch is None
            pending2 += batch.names if batch else []
        else:
            break
        common = min(len(pending1), len(pending2))
        if common:
            _compare_mates(pending1[:common], pending2[:common], record, r1, r2)
            del pending1[:common], pending2[:common]
            record += common
    if pending1 or pending2:
        more, fewer = (r1, r2) if pending1 else (r2, r1)
        raise InputCheckError(
            308,
            f"Encountered an unmatched read: {more.name} has more reads than {fewer.name} "
            f"(read {record} has no mate)",
        )
    for path, fastq in ((r1, first), (r2, second)):
        if fastq.reads == 0:
            raise InputCheckError(313, f"{path.name} holds no reads")
    return InputStats(bases=first.bases + second.bases, reads=first.reads + second.reads)


def _compare_mates(
    names1: list[bytes], names2: list[bytes], first: int, r1: Path, r2: Path
) -> None:
    suffixes1, suffixes2 = set(map(_SUFFIX, names1)), set(map(_SUFFIX, names2))
    if suffixes1 == {b"/1"} and suffixes2 == {b"/2"}:
        if list(map(_WITHOUT_SUFFIX, names1)) == list(map(_WITHOUT_SUFFIX, names2)):
            return
    elif not (suffixes1 | suffixes2) & set(_MATE_SUFFIXES) and names1 == names2:
        return
    for offset, (name1, name2) in enumerate(zip(names1, names2, strict=True)):
        _compare_one(name1, name2, first + offset, r1, r2)


def _compare_one(name1: bytes, name2: bytes, record: int, r1: Path, r2: Path) -> None:
    read = f"read {record} ({name1.decode(errors='replace')} / {name2.decode(errors='replace')})"
    end1, end2 = name1[-2:], name2[-2:]
    if end1 == b"/2":
        raise InputCheckError(304, f"{read}: the name in {r1.name} ends in /2, expected /1")
    if end2 == b"/1":
        raise InputCheckError(305, f"{read}: the name in {r2.name} ends in /1, expected /2")
    if end2 == b"/2" and end1 != b"/1":
        raise InputCheckError(306, f"{read}: the name in {r1.name} does not end in /1")
    if end1 == b"/1" and end2 != b"/2":
        raise InputCheckError(307, f"{read}: the name in {r2.name} does not end in /2")
    if end1 == b"/1":
        name1, name2 = name1[:-2], name2[:-2]
    if name1 != name2:
        raise InputCheckError(
            308,
            f"Encountered an unmatched read: read {record} is {name1.decode(errors='replace')} "
            f"in {r1.name} but {name2.decode(errors='replace')} in {r2.name}",
        )


class _FastqFile:
    """Streams one FASTQ file in batches of complete records, checking each record's shape."""

    def __init__(self, path: Path, max_read_length: int) -> None:
        self.path = path
        self.max_read_length = max_read_length
        self.bases = 0
        self.reads = 0

    def batches(self) -> Iterator[_Batch]:
        carry: list[bytes] = []  # lines of an incomplete record from the previous chunk
        tail = b""  # bytes after the last newline
        line_number = 1  # of carry[0], or of the next line
        for chunk in self._chunks():
            if line_number == 1 and not tail and not carry and chunk[:1] != b"@":
                self._check_starts([chunk], 64, "@", 1, 0)  # binary files may have no newline
            data = tail + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            lines = carry + data[:cut].split(b"\n")
            tail = data[cut + 1 :]
            complete = len(lines) - len(lines) % 4
            if complete:
                yield self._records(lines[:complete], line_number)
                line_number += complete
            carry = lines[complete:]
        self._check_end(carry, tail, line_number)

    def _check_end(self, carry: list[bytes], tail: bytes, line_number: int) -> None:
        if tail:
            raise InputCheckError(
                300,
                f"{self.path.name} does not end with a newline (line {line_number + len(carry)})",
            )
        if carry:
            if b"" in carry:
                raise InputCheckError(
                    302, f"blank line in {self.path.name} at line {line_number + carry.index(b'')}"
                )
            raise InputCheckError(
                314,
                f"the last record of {self.path.name} (line {line_number}) is incomplete: "
                "a FASTQ record has four lines",
            )

    def _records(self, lines: list[bytes], line_number: int) -> _Batch:
        if b"" in lines:
            at = line_number + lines.index(b"")
            raise InputCheckError(302, f"blank line in {self.path.name} at line {at}")
        headers, sequences, separators, qualities = (lines[i::4] for i in range(4))
        self._check_starts(headers, 64, "@", line_number, 0)
        self._check_starts(separators, 43, "+", line_number, 2)
        lengths = list(map(len, sequences))
        quality_lengths = list(map(len, qualities))
        if lengths != quality_lengths:
            pairs = zip(lengths, quality_lengths, strict=True)
            at = next(i for i, (sequence, quality) in enumerate(pairs) if sequence != quality)
            raise InputCheckError(
                312,
                f"{self.path.name} line {line_number + 4 * at + 1}: the sequence and quality "
                "lines differ in length",
            )
        longest = max(lengths)
        if longest > self.max_read_length:
            at = lengths.index(longest)
            raise InputCheckError(
                701,
                f"{self.path.name} line {line_number + 4 * at + 1}: read of {longest} bases is "
                f"longer than the limit of {self.max_read_length}",
            )
        first_record = self.reads + 1
        self.bases += sum(lengths)
        self.reads += len(headers)
        names = _READ_NAME.findall(b"\n".join(headers))  # one C-level pass, not a Python loop
        return _Batch(names=names, first_record=first_record)

    def _check_starts(
        self, lines: list[bytes], byte: int, char: str, line_number: int, offset: int
    ) -> None:
        if set(map(_FIRST_BYTE, lines)) <= {byte}:
            return
        at = next(i for i, line in enumerate(lines) if line[0] != byte)
        what = "record" if offset == 0 else "third line of a record"
        raise InputCheckError(
            303,
            f"{self.path.name} line {line_number + 4 * at + offset}: the {what} does not start "
            f"with '{char}' (is this a FASTQ file?)",
        )

    def _chunks(self) -> Iterator[bytes]:
        # decompress in a thread: zlib releases the GIL, so both files of a pair inflate in
        # parallel with each other and with the checks
        return _prefetched(self._read_chunks())

    def _read_chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                if self.path.name.endswith((".gz", ".gzip")):
                    raise InputCheckError(
                        310, f"{self.path.name} is not gzip-compressed although its name says so"
                    )
                yield from _read_all(raw)
                return
            try:
                yield from _inflate(raw)
            except (EOFError, zlib.error) as error:
                raise InputCheckError(
                    311, f"{self.path.name} is a truncated or corrupt gzip file ({error})"
                ) from None


def _inflate(raw: BinaryIO) -> Iterator[bytes]:
    """Decompress a (multi-member) gzip stream with large zlib calls (gzip.GzipFile is slower)."""
    inflater = zlib.decompressobj(wbits=31)
    inside_member = False
    while data := raw.read(CHUNK_SIZE // 4):
        while data:
            inside_member = True
            if out := inflater.decompress(data):
                yield out
            data = b""
            if inflater.eof:  # end of one member: another may follow (e.g. concatenated files)
                inside_member = False
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=31)
                if not data.strip(b"\0"):
                    data = b""  # zero padding after the last member is allowed
    if inside_member:
        raise EOFError("the compressed data ends before the end-of-stream marker")


def _read_all(stream: BinaryIO | gzip.GzipFile) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


_END = object()


def _prefetched(chunks: Iterator[bytes], depth: int = 4) -> Iterator[bytes]:
    """Run ``chunks`` in a daemon thread, ``depth`` items ahead; re-raise its errors here."""
    results: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        results.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            results.put(_END)
        except BaseException as error:  # handed to the consumer, which re-raises it
            results.put(error)

    worker = threading.Thread(target=produce, daemon=True, name="fastq-reader")
    worker.start()
    try:
        while (item := results.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield cast(bytes, item)
    finally:
        stop.set()


# --- BAM ----------------------------------------------------------------------------------


def _check_bam(path: Path, max_read_length: int, stop: threading.Event) -> InputStats:
    _check_bgzf_frame(path)
    import pysam

    try:
        bam = pysam.AlignmentFile(str(path), "rb", check_sq=False)
    except (ValueError, OSError) as error:
        raise InputCheckError(202, f"{path.name}: the BAM header is corrupt ({error})") from None
    bases = reads = 0
    try:
        with bam:
            for read in bam.fetch(until_eof=True):
                if read.flag & 0x900:  # secondary or supplementary: not input reads
                    continue
                if not reads % STOP_POLL_READS and stop.is_set():
                    raise ChecksStopped
                length = read.query_length
                if length == 0:
                    raise InputCheckError(
                        203, f"{path.name}: read {read.query_name} has no sequence"
                    )
                if length > max_read_length:
                    raise InputCheckError(
                        701,
                        f"{path.name}: read {read.query_name} of {length} bases is longer than "
                        f"the limit of {max_read_length}",
                    )
                bases += length
                reads += 1
    except OSError as error:
        raise InputCheckError(201, f"{path.name} is truncated or corrupt ({error})") from None
    return InputStats(bases=bases, reads=reads)


def _check_bgzf_frame(path: Path) -> None:
    try:
        with path.open("rb") as raw:
            head = raw.read(4)
            raw.seek(0, 2)
            size = raw.tell()
            raw.seek(max(0, size - len(BGZF_EOF)))
            tail = raw.read()
    except OSError as error:
        raise InputCheckError(200, f"{path.name} cannot be read ({error.strerror})") from None
    if head[:2] != GZIP_MAGIC:
        raise InputCheckError(200, f"{path.name} is not a BAM file (not BGZF-compressed)")
    if tail != BGZF_EOF:
        raise InputCheckError(
            201, f"{path.name} is truncated: the BAM end-of-file marker is missing"
        )
    with gzip.open(path, "rb") as stream:
        try:
            magic = stream.read(4)
        except (EOFError, OSError, zlib.error):
            magic = b""
    if magic != b"BAM\x01":
        raise InputCheckError(200, f"{path.name} is not a BAM file")
