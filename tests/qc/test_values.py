"""The QC step's numbers equal the tools' own, run by hand on the same BAM and VCF (see
tests/qc/checks.py), on the demo sample and a second one; and qc.json follows its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from genoflow.qc import schema
from tests.qc.checks import check_coverage, check_inserts, check_reads, check_variants
from tests.qc.conftest import Sample, needs_tools

pytestmark = [needs_tools, pytest.mark.slow]


def load(sample: Sample) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(sample.qc_json.read_text())
    return document


def test_qc_json_follows_its_schema(sample: Sample) -> None:
    jsonschema.Draft202012Validator(schema()).validate(load(sample))


def test_reads_equal_samtools_view_counts(sample: Sample) -> None:
    check_reads(load(sample), sample.bam)


def test_coverage_equals_mosdepth_per_base(sample: Sample, tmp_path: Path) -> None:
    fai = sample.reference.with_name(sample.reference.name + ".fai")
    check_coverage(load(sample), sample.bam, fai, tmp_path)


def test_insert_sizes_equal_samtools_stats(sample: Sample) -> None:
    check_inserts(load(sample), sample.bam)


def test_variants_equal_bcftools_query(sample: Sample) -> None:
    check_variants(load(sample), sample.vcf)


def test_the_two_samples_differ_where_they_should(
    demo_sample: Sample, second_sample: Sample
) -> None:
    demo, second = load(demo_sample), load(second_sample)
    assert demo["sample"] == "DEMO" and second["sample"] == "SECOND"
    assert 27 < demo["coverage"]["mean"] < 31 and 12 < second["coverage"]["mean"] < 16
    assert second["coverage"]["fraction_ge_20x"] < 0.3 < 0.9 < demo["coverage"]["fraction_ge_20x"]
    assert 330 < demo["insert_size"]["median"] < 370 and 230 < second["insert_size"]["median"] < 270
