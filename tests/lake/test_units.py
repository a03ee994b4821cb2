"""The lake's pure parts and its VCF reader: variant classes against bcftools' own, the
read-ahead thread, storage options without secrets, and VCFs of every shape."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pysam
import pytest

from genoflow.config.schema import AuthMethod, StorageConfig
from genoflow.errors import IntegrityError
from genoflow.lake.classes import classify
from genoflow.lake.counts import CallCounts
from genoflow.lake.location import lake_of
from genoflow.lake.parallel import ParsePool, Window, plan_windows, read_window
from genoflow.lake.pipe import prefetched
from genoflow.lake.vcf import Origin, read_batches
from tests.lake.vcfgen import HEADER

ORIGIN = Origin("gf-x:1", "gf-x", datetime(2026, 11, 1, tzinfo=timezone.utc))
PAIRS = [
    ("A", "G"),
    ("A", "AT"),
    ("AT", "A"),
    ("AC", "GT"),
    ("ACG", "TCA"),
    ("AT", "AC"),
    ("ACGT", "AGT"),
    ("CGT", "AT"),
    ("A", "<DEL>"),
    ("ACT", "A"),
    ("A", "ATTTG"),
    ("TTA", "TGC"),
    ("GA", "GAA"),
    ("C", "T"),
    ("CA", "TG"),
    ("ACG", "AT"),
]


def vcf_file(folder: Path, name: str, body: list[str], samples: tuple[str, ...] = ("S1",)) -> Path:
    plain = folder / f"{name}.vcf"
    header = HEADER + "##contig=<ID=chr1,length=100000>\n##contig=<ID=chr2,length=50000>\n"
    columns = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples)
    plain.write_text(header + columns + "\n" + "".join(line + "\n" for line in body))
    return plain


def bgzipped(plain: Path) -> Path:
    out = Path(f"{plain}.gz")
    pysam.tabix_compress(str(plain), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def test_classes_are_bcftools_types(tmp_path: Path) -> None:
    body = [
        f"chr1\t{100 + 10 * i}\t.\t{r}\t{a}\t50\tPASS\t.\tGT\t0/1" for i, (r, a) in enumerate(PAIRS)
    ]
    vcf = vcf_file(tmp_path, "pairs", body)
    out = subprocess.run(
        ["bcftools", "query", "-f", r"%REF\t%ALT\t%TYPE\n", str(vcf)],
        capture_output=True,
        check=True,
        text=True,
    )
    for line in out.stdout.splitlines():
        ref, alt, kind = line.split("\t")
        expected = {"SNP": "SNV", "MNP": "MNV", "OTHER": "other"}.get(kind.upper())
        if kind.upper() == "INDEL":
            expected = "insertion" if len(alt) > len(ref) else "deletion"
        assert classify(ref, alt).name == expected, (ref, alt, kind)
    assert classify("AT", "AC")[1:] == ("T", "C")  # an SNV's trimmed bases: its spectrum key
    assert classify("A", "<NON_REF>").name is None and classify("A", "*").name is None


def test_prefetched_passes_items_and_errors() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise IntegrityError("corrupt at record 3")

    got: list[int] = []
    with pytest.raises(IntegrityError, match="record 3"):
        for item in prefetched(source()):
            got.append(item)
    assert got == [1, 2]


def test_prefetched_stops_its_thread_when_the_consumer_stops() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    stream = prefetched(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert len(produced) <= 5
    assert not [t for t in threading.enumerate() if t.name == "genoflow-lake-read"]


def test_storage_options_for_the_emulator_and_azure_hide_secrets() -> None:
    key = "a2V5" * 22
    emulator = lake_of(
        StorageConfig(account_url="http://127.0.0.1:10000/devstoreaccount1", account_key=key),
        "lake",
    )
    assert emulator.account_name == "devstoreaccount1"
    assert emulator.options["azure_storage_endpoint"] == "http://127.0.0.1:10000/devstoreaccount1"
    assert emulator.options["allow_http"] == "true" and emulator.options["account_key"] == key
    assert key not in repr(emulator)
    azure = lake_of(StorageConfig(account_name="prodacct", sas_token="?sv=1&sig=abc"), "lake")
    assert azure.options == {"account_name": "prodacct", "sas_token": "sv=1&sig=abc"}
    text = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        + key
        + ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    )
    from_string = lake_of(StorageConfig(connection_string=text), "lake")
    assert from_string.options["account_key"] == key
    assert from_string.options["azure_storage_endpoint"].endswith(":10000/devstoreaccount1")
    identity = lake_of(StorageConfig(account_name="prodacct", auth=AuthMethod.identity), "lake")
    assert identity.options == {"account_name": "prodacct"}


def rows_of(vcf: Path, pool: ParsePool | None = None) -> tuple[list[dict[str, object]], CallCounts]:
    counts = CallCounts()
    reader = pool.batches(vcf, ORIGIN, counts) if pool else read_batches(vcf, ORIGIN, counts)
    return [row for batch in reader for row in batch.to_pylist()], counts


def test_multi_sample_gvcf_rows(tmp_path: Path) -> None:
    body = [
        "chr1\t100\trs1;rs2\tA\tG,<NON_REF>\t50\tPASS\t.\tGT:DP\t0/1:10\t1|1:12",
        "chr1\t101\t.\tC\t<NON_REF>\t.\t.\t.\tGT:DP\t0/0:9\t0/0:9",  # a reference block
        "chr1\t200\t.\tAT\tA\t.\t.\t.\tGT:DP\t./.:.\t0/1:7",
    ]
    rows, counts = rows_of(vcf_file(tmp_path, "g", body, ("S1", "S2")))
    assert [(r["start"], r["sampleId"], r["calls"]) for r in rows] == [
        (99, "S1", [0, 1]),
        (99, "S2", [1, 1]),
        (199, "S1", [-1, -1]),
        (199, "S2", [0, 1]),
    ]
    assert rows[0]["names"] == ["rs1", "rs2"] and rows[0]["filters"] == ["PASS"]
    assert rows[1]["phased"] is True and rows[0]["phased"] is False
    assert rows[2]["qual"] is None and rows[2]["depth"] is None and rows[3]["depth"] == 7
    assert rows[2]["end"] == 201 and rows[0]["conditionalQuality"] is None  # no GQ in FORMAT
    assert counts.records == 4 and dict(counts.classes) == {"SNV": 2, "deletion": 1}


def test_windows_read_each_record_once(tmp_path: Path) -> None:
    body = [f"chr1\t{p}\t.\tACGTACGTAC\tA\t50\tPASS\t.\tGT\t0/1" for p in range(1, 100_000, 997)]
    body.insert(51, "chr1\t49995\t.\tACGTACGTAC\tA\t50\tPASS\t.\tGT\t0/1")  # spans 50,000
    body += [f"chr2\t{p}\t.\tC\tT\t50\tPASS\t.\tGT\t1/1" for p in range(10, 50_000, 1_003)]
    vcf = bgzipped(vcf_file(tmp_path, "w", body))
    windows = plan_windows(vcf, window_records=10, min_window=1_000)
    assert windows is not None and len(windows) > 2  # several windows per contig
    halves = [
        read_window(vcf, Window("chr1", a, b), ORIGIN, 1000)
        for a, b in ((0, 50_000), (50_000, 100_000))
    ]
    starts = [row["start"] for half in halves for b in half.batches for row in b.to_pylist()]
    assert starts.count(49_994) == 1 and len(starts) == len(set(starts))
    pool = ParsePool(workers=2, window_records=10, min_window=1_000)
    try:
        parallel, counts = rows_of(vcf, pool)
    finally:
        pool.close()
    single, single_counts = rows_of(vcf)
    key = [(r["contigName"], r["start"]) for r in single]
    assert sorted((r["contigName"], r["start"]) for r in parallel) == sorted(key)
    assert len(key) == len(body) and counts == single_counts


def test_a_truncated_vcf_is_an_integrity_error(tmp_path: Path) -> None:
    body = [f"chr1\t{p}\t.\tC\tT\t50\tPASS\t.\tGT\t0/1" for p in range(1, 90_000, 3)]
    vcf = bgzipped(vcf_file(tmp_path, "t", body))
    data = vcf.read_bytes()
    vcf.write_bytes(data[: len(data) // 2])
    with pytest.raises(IntegrityError, match="not a readable VCF"):
        rows_of(vcf)
    pool = ParsePool(workers=2)
    try:
        with pytest.raises(IntegrityError, match="not a readable VCF"):
            rows_of(vcf, pool)
    finally:
        pool.close()


def test_a_plain_vcf_is_read_as_one_stream(tmp_path: Path) -> None:
    vcf = vcf_file(tmp_path, "plain", ["chr2\t5\t.\tG\tGA\t1\tLowQual\t.\tGT\t0/1"])
    assert plan_windows(vcf) is None
    pool = ParsePool(workers=2)
    try:
        rows, counts = rows_of(vcf, pool)
    finally:
        pool.close()
    assert [(r["contigName"], r["filters"]) for r in rows] == [("chr2", ["LowQual"])]
    assert dict(counts.classes) == {"insertion": 1}


def test_without_the_lake_extra_the_commands_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from tests.harness import run_cli

    monkeypatch.setitem(sys.modules, "deltalake", None)  # import deltalake -> ImportError
    for args in (["lake", "add", "1"], ["lake", "report"], ["lake", "export", "out"]):
        result = run_cli(args, env={"GENOFLOW_SERVICE__URL": "http://127.0.0.1:9"})
        assert result.exit_code == 2, result.output
        assert "pip install 'genoflow[lake]'" in result.stderr and "deltalake" in result.stderr


def test_prepared_windows_are_taken_up_or_dropped(tmp_path: Path) -> None:
    body = [f"chr1\t{p}\t.\tC\tA\t50\tPASS\t.\tGT\t0/1" for p in range(1, 100_000, 500)]
    vcf = bgzipped(vcf_file(tmp_path, "p", body))
    pool = ParsePool(workers=2, window_records=10, min_window=1_000)
    try:
        pool.prepare(vcf, ORIGIN)
        taken, counts = rows_of(vcf, pool)  # takes the prepared windows up
        assert len(taken) == len(body) and counts.records == len(body)
        pool.prepare(vcf, ORIGIN)
        pool.forget(vcf)
        other = Origin("gf-x:2", "gf-x", ORIGIN.ingested_at)
        pool.prepare(vcf, ORIGIN)  # prepared for another run: not used for this one
        counts = CallCounts()
        rows = [r for b in pool.batches(vcf, other, counts) for r in b.to_pylist()]
        assert {r["runId"] for r in rows} == {"gf-x:2"} and len(rows) == len(body)
    finally:
        pool.close()


def test_lake_auto_imports_without_the_extra_and_says_what_is_missing() -> None:
    code = """
import sys
for name in ("deltalake", "duckdb", "pyarrow", "pysam"):
    sys.modules[name] = None
from genoflow.config.schema import GenoflowConfig, LakeConfig
from genoflow.lake.auto import add_succeeded
from genoflow.model.runs import Run, RunState
run = Run(id="1", state=RunState.SUCCEEDED)
lines = []
assert add_succeeded(GenoflowConfig(), None, [run], lines.append) == [] and lines == []
on = GenoflowConfig(lake=LakeConfig(auto=True))
assert add_succeeded(on, None, [run], lines.append) == []
print(lines[0])
"""
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "lake.auto: the lake is not writable" not in out.stdout
    assert "pip install 'genoflow[lake]'" in out.stdout


def test_windows_cover_records_past_a_contigs_declared_length(tmp_path: Path) -> None:
    body = [f"chr1\t{p}\t.\tG\tT\t50\tPASS\t.\tGT\t0/1" for p in range(1, 150_000, 700)]
    plain = vcf_file(tmp_path, "long", body)
    plain.write_text(plain.read_text().replace("ID=chr1,length=100000", "ID=chr1,length=20000"))
    vcf = bgzipped(plain)
    windows = plan_windows(vcf, window_records=10, min_window=1_000)
    assert windows is not None and {w.contig for w in windows} == {"chr1"}  # chr2: no records
    pool = ParsePool(workers=2, window_records=10, min_window=1_000)
    try:
        rows, _ = rows_of(vcf, pool)
    finally:
        pool.close()
    assert sorted(r["start"] for r in rows) == [p - 1 for p in range(1, 150_000, 700)]
