"""``genoflow lake export``: a table's current version as plain Parquet files, for tools that do
not read Delta. Hive-partitioned like the table (``sampleId=.../contigName=.../part-N.parquet``)
so such tools still prune by sample or contig; streamed, so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genoflow.errors import UsageError
from genoflow.lake.location import Lake, mapped
from genoflow.lake.schema import CALLS_PARTITIONS, CALLS_TABLE, QC_TABLE, RUNS_TABLE
from genoflow.lake.tables import read_table

TABLES = (CALLS_TABLE, RUNS_TABLE, QC_TABLE)


@dataclass(frozen=True)
class ExportResult:
    table: str
    version: int
    folder: Path
    files: int
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "version": self.version,
            "folder": str(self.folder),
            "files": self.files,
            "rows": self.rows,
        }


def export_table(
    lake: Lake,
    table: str,
    folder: Path,
    *,
    sample: str | None = None,
    contig: str | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write ``table`` (only ``sample``'s / ``contig``'s files of calls, when given) to
    ``folder``, which must be empty or missing unless ``overwrite``."""
    import pyarrow.dataset as ds

    if table not in TABLES:
        raise UsageError(f"no lake table {table!r}", hint=f"use one of {', '.join(TABLES)}")
    if (sample or contig) and table != CALLS_TABLE:
        raise UsageError("--sample and --contig select files of the calls table only")
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise UsageError(f"{folder} is not empty", hint="choose an empty folder, or --overwrite")
    delta = read_table(lake, table)
    filters = [(k, "=", v) for k, v in (("sampleId", sample), ("contigName", contig)) if v]
    written: list[Any] = []
    with mapped(f"exporting lake table {table}", lake):
        dataset = delta.to_pyarrow_dataset(file_pruning_predicate=filters or None)
        ds.write_dataset(
            dataset,
            folder,
            format="parquet",
            partitioning=CALLS_PARTITIONS if table == CALLS_TABLE else None,
            partitioning_flavor="hive",
            existing_data_behavior="delete_matching",
            file_visitor=written.append,
        )
    rows = sum(item.metadata.num_rows for item in written if item.metadata is not None)
    return ExportResult(table, delta.version(), folder, len(written), rows)
