"""Sample sheets in CSV or TSV (sniffed), with the column names other tools' sheets use."""

from __future__ import annotations

from pathlib import Path

import pytest

from genoflow.errors import UsageError
from genoflow.orchestration.submit import read_sample_sheet
from tests.harness import run_cli


@pytest.mark.parametrize(
    "text",
    [
        'sample,r1,r2,description\nA,a_1.fq.gz;b_1.fq.gz,a_2.fq.gz;b_2.fq.gz,"x, y"\n',
        "sample\tr1\tr2\tdescription\nA\ta_1.fq.gz;b_1.fq.gz\ta_2.fq.gz;b_2.fq.gz\tx, y\n",
        "sample_id\tfastq_1\tfastq_2\tdescription\n"
        "A\ta_1.fq.gz;b_1.fq.gz\ta_2.fq.gz;b_2.fq.gz\tx, y\n",
        "--env SAMPLE,--input FASTQ_1,--input FASTQ_2,description\n"
        'A,a_1.fq.gz;b_1.fq.gz,a_2.fq.gz;b_2.fq.gz,"x, y"\n',
    ],
    ids=["csv", "tsv", "nf-core-tsv", "dsub"],
)
def test_sheets_in_any_of_the_usual_shapes_read_the_same(tmp_path: Path, text: str) -> None:
    sheet = tmp_path / "sheet.txt"
    sheet.write_text(text)
    [row] = read_sample_sheet(sheet)
    assert (row.line, row.sample) == (2, "A")
    assert row.reads_1 == ("a_1.fq.gz", "b_1.fq.gz") and row.reads_2 == ("a_2.fq.gz", "b_2.fq.gz")
    assert row.overrides == {"description": "x, y"}


def test_a_sheet_without_read_columns_names_the_columns_it_takes(tmp_path: Path) -> None:
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("name\tfile\nA\ta.fq.gz\n")
    with pytest.raises(UsageError, match="missing column") as raised:
        read_sample_sheet(sheet)
    assert "r1 (or fastq_1, read1)" in raised.value.one_line()


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "is empty"), ("\n \n", "is empty"), ("sample\tfastq_1\n", "has a header but no samples")],
    ids=["empty", "blank-lines", "header-only"],
)
def test_a_sheet_without_samples_says_so_before_anything_is_opened(
    tmp_path: Path, text: str, problem: str
) -> None:
    """Not "missing column(s)" for an empty file, and not a storage error for a header-only
    sheet: the sheet is read before any account is needed (none is configured here)."""
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(text)
    result = run_cli(["submit", "--samples", str(sheet)])
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert problem in line and "fastq_1" in line and "Traceback" not in result.stderr
