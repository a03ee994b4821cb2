"""Input checks: every failure code triggered by a crafted bad file, and the counts on good ones."""

from __future__ import annotations

import gzip
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pysam
import pytest

from genoflow.demo import DemoData
from genoflow.errors import InputError, UsageError
from genoflow.pipelines import InputCheckError, check_inputs
from genoflow.pipelines import checks as checks_module
from tests.pipeline.conftest import needs_tools

Record = tuple[str, str, str]  # header line (without '@'), sequence, quality


def records(count: int, suffix: str = "", length: int = 20, start: int = 0) -> list[Record]:
    return [(f"r{i}{suffix}", "ACGT" * (length // 4), "I" * length) for i in range(start, count)]


def fastq_text(reads: Sequence[Record]) -> str:
    return "".join(f"@{name}\n{seq}\n+\n{qual}\n" for name, seq, qual in reads)


def write(path: Path, text: str | bytes) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


def pair(tmp_path: Path, first: str | bytes, second: str | bytes) -> list[tuple[Path, Path]]:
    return [(write(tmp_path / "s_1.fq.gz", first), write(tmp_path / "s_2.fq.gz", second))]


def failure(pairs: list[tuple[Path, Path]], **kwargs: int) -> InputCheckError:
    with pytest.raises(InputCheckError) as caught:
        check_inputs(pairs, **kwargs)
    return caught.value


GOOD_1 = fastq_text(records(50, "/1"))
GOOD_2 = fastq_text(records(50, "/2"))


def test_good_pair_counts_bases_and_reads(tmp_path: Path) -> None:
    stats = check_inputs(pair(tmp_path, GOOD_1, GOOD_2))
    assert (stats.bases, stats.reads) == (2 * 50 * 20, 100)


def test_illumina_names_plain_text_and_concatenated_gzip_are_accepted(tmp_path: Path) -> None:
    first = "".join(f"@M1:7:FC:1:{i} 1:N:0:ACGT\nACGTA\n+\nIIIII\n" for i in range(30))
    second = "".join(f"@M1:7:FC:1:{i} 2:N:0:ACGT\nACGTAC\n+\nIIIIII\n" for i in range(30))
    plain = [(write(tmp_path / "a_1.fq", first), write(tmp_path / "a_2.fq", second))]
    assert check_inputs(plain).bases == 30 * 11
    members = tmp_path / "m_1.fq.gz"  # two gzip members, as `cat a.gz b.gz` makes
    members.write_bytes(gzip.compress(GOOD_1.encode()) + gzip.compress(GOOD_1.encode()))
    doubled = tmp_path / "m_2.fq.gz"
    doubled.write_bytes(gzip.compress((GOOD_2 + GOOD_2).encode()))
    assert check_inputs([(members, doubled)]).reads == 200


def test_several_pairs_add_up(demo: DemoData, tmp_path: Path) -> None:
    small = pair(tmp_path, GOOD_1, GOOD_2)
    stats = check_inputs([(demo.fastq_r1, demo.fastq_r2), *small])
    assert stats.reads == 2 * demo.read_pairs + 100
    assert stats.bases == demo.bases + 2000


def test_no_input_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no input"):
        check_inputs([])


def test_error_text_and_type(tmp_path: Path) -> None:
    error = failure(pair(tmp_path, GOOD_1 + "\n", GOOD_2))
    assert isinstance(error, InputError)
    assert str(error).startswith("Error Code [302]: ") and error.code == 302
    assert "s_1.fq.gz" in str(error) and "line 201" in str(error)


@pytest.mark.parametrize(
    ("code", "first", "second"),
    [
        (300, GOOD_1.rstrip("\n"), GOOD_2),
        (302, fastq_text(records(3, "/1")) + "\n" + fastq_text(records(5, "/1", start=3)), GOOD_2),
        (303, GOOD_1.replace("@r7/1", "r7/1"), GOOD_2),
        (303, GOOD_1, GOOD_2.replace("\n+\n", "\n-\n", 1)),
        (304, GOOD_1.replace("@r9/1", "@r9/2"), GOOD_2),
        (305, GOOD_1, GOOD_2.replace("@r9/2", "@r9/1")),
        (306, fastq_text(records(50)), GOOD_2),
        (307, GOOD_1, fastq_text(records(50))),
        (308, GOOD_1, GOOD_2.replace("@r12/2", "@r99/2")),
        (308, GOOD_1, fastq_text(records(49, "/2"))),
        (308, fastq_text(records(49, "/1")), GOOD_2),
        (312, GOOD_1.replace("IIII\n", "III\n", 1), GOOD_2),
        (313, "", ""),
        (314, GOOD_1 + "@r50/1\nACGT\n+\n", GOOD_2),
    ],
)
def test_fastq_failure_codes(tmp_path: Path, code: int, first: str, second: str) -> None:
    assert failure(pair(tmp_path, first, second)).code == code


def test_read_longer_than_the_limit(tmp_path: Path) -> None:
    error = failure(pair(tmp_path, GOOD_1, GOOD_2), max_read_length=19)
    assert error.code == 701 and "20 bases" in str(error)


def test_not_gzip_truncated_and_corrupt_gzip(tmp_path: Path) -> None:
    good = pair(tmp_path, GOOD_1 * 20, GOOD_2 * 20)
    fake = tmp_path / "fake_1.fq.gz"
    fake.write_text(GOOD_1 * 20)
    assert failure([(fake, good[0][1])]).code == 310
    compressed = gzip.compress((GOOD_1 * 20).encode())
    truncated = tmp_path / "t_1.fq.gz"
    truncated.write_bytes(compressed[: len(compressed) // 2])
    assert failure([(truncated, good[0][1])]).code == 311
    corrupt = tmp_path / "c_1.fq.gz"
    middle = len(compressed) // 2
    corrupt.write_bytes(compressed[:middle] + bytes(64) + compressed[middle + 64 :])
    assert failure([(corrupt, good[0][1])]).code == 311


def test_a_bam_given_as_fastq_is_not_fastq(tmp_path: Path) -> None:
    bam = _bam_from_sam(tmp_path / "x.bam", _SAM_READS)
    error = failure([(bam, write(tmp_path / "s_2.fq.gz", GOOD_2))])
    assert error.code == 303 and "FASTQ" in str(error)


def test_small_chunks_keep_records_and_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # records cut across chunk boundaries, files read out of step with each other
    monkeypatch.setattr(checks_module, "CHUNK_SIZE", 64)
    first = fastq_text(records(1000, "/1", length=8))
    second = fastq_text(records(1000, "/2", length=40))
    assert check_inputs(pair(tmp_path, first, second)).bases == 1000 * 48
    blank = first.replace("@r700/1", "\n@r700/1")
    error = failure(pair(tmp_path, blank, second))
    assert error.code == 302 and "line 2801" in str(error)
    renamed = second.replace("@r999/2", "@x999/2")
    assert "read 1000" in str(failure(pair(tmp_path, first, renamed)))


# --- BAM ----------------------------------------------------------------------------------

_SAM_HEADER = "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:1000\n"
_SAM_READS = "".join(
    f"q{i}\t{flag}\tchr1\t{100 + i}\t60\t20M\t=\t{300 + i}\t220\t{'ACGT' * 5}\t{'I' * 20}\n"
    for i in range(40)
    for flag in (99, 147)
)


def _bam_from_sam(path: Path, reads: str) -> Path:
    sam = path.with_suffix(".sam")
    sam.write_text(_SAM_HEADER + reads)
    subprocess.run(["samtools", "view", "-b", "-o", str(path), str(sam)], check=True)
    return path


def bam_failure(path: Path, **kwargs: int) -> InputCheckError:
    with pytest.raises(InputCheckError) as caught:
        check_inputs(bam=path, **kwargs)
    return caught.value


@needs_tools
def test_good_bam_counts_primary_reads_only(tmp_path: Path) -> None:
    secondary = "q0\t355\tchr1\t500\t0\t20M\t=\t300\t0\t*\t*\n"
    stats = check_inputs(bam=_bam_from_sam(tmp_path / "ok.bam", _SAM_READS + secondary))
    assert (stats.reads, stats.bases) == (80, 80 * 20)


@needs_tools
def test_bam_failure_codes(tmp_path: Path) -> None:
    good = _bam_from_sam(tmp_path / "good.bam", _SAM_READS).read_bytes()
    text = tmp_path / "text.bam"
    text.write_text(_SAM_HEADER)
    assert bam_failure(text).code == 200
    assert bam_failure(tmp_path / "absent.bam").code == 200
    not_bam = tmp_path / "gz.bam"
    with pysam.BGZFile(str(not_bam), "wb") as out:
        out.write(b"this is gzip but not BAM")
    assert bam_failure(not_bam).code == 200
    no_eof = tmp_path / "noeof.bam"
    no_eof.write_bytes(good[:-28])
    assert bam_failure(no_eof).code == 201
    bad_header = tmp_path / "header.bam"
    with pysam.BGZFile(str(bad_header), "wb") as out:
        out.write(b"BAM\x01" + struct.pack("<i", 1 << 30) + b"@HD")
    assert bam_failure(bad_header).code == 202
    no_sequence = _SAM_READS.replace(f"\t{'ACGT' * 5}\t{'I' * 20}\n", "\t*\t*\n", 1)
    assert bam_failure(_bam_from_sam(tmp_path / "noseq.bam", no_sequence)).code == 203
    assert bam_failure(tmp_path / "good.bam", max_read_length=10).code == 701
