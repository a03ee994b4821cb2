"""Reading the lake back in tests, straight from the Delta tables (deltalake + pyarrow)."""

from __future__ import annotations

import json
from typing import Any

from deltalake import DeltaTable

from genoflow.lake.location import Lake, lake_of
from tests.harness import CliResult
from tests.lake.conftest import LakeCase


def lake(case: LakeCase) -> Lake:
    return lake_of(case.storage, case.lake)


def table(case: LakeCase, name: str) -> DeltaTable:
    where = lake(case)
    return DeltaTable(where.uri(name), storage_options=where.storage_options())


def rows(case: LakeCase, name: str = "calls") -> int:
    return int(table(case, name).to_pyarrow_dataset().count_rows())


def json_lines(result: CliResult) -> list[Any]:
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)  # one document: a list of records, or one record
    return document if isinstance(document, list) else [document]
