"""Opening the lake's Delta tables (creating them on first use) and committing to them.

Every commit that adds a run carries a Delta *application transaction* ``genoflow-lake:<run>``
(SetTransaction). A table whose log holds it already has the run, so adding it again changes
nothing; and two writers adding the same run at once conflict (delta-rs refuses the second
commit with ``CommitFailedError``), so the loser re-reads the log, finds the run there, and
stops. Appends of different runs do not conflict; delta-rs rebases and retries them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from genoflow.errors import UnavailableError
from genoflow.lake.location import Lake, mapped

if TYPE_CHECKING:
    from deltalake import DeltaTable, WriterProperties

APP_PREFIX = "genoflow-lake:"
# Conflicts are rare (two writers of one run, or a table created twice): a few tries suffice.
COMMIT_TRIES = 5
# The writer keeps one open Parquet file per partition (sample x contig) until it reaches this
# size, and flushes a row group every ROW_GROUP_ROWS rows: so its memory is bounded by the
# open partitions times this size, whatever the VCF's size (delta-rs would otherwise hold a
# partition's rows until 1M of them).
TARGET_FILE_BYTES = 16 * 1024 * 1024
ROW_GROUP_ROWS = 65_536
COMPACT_FILES = 64  # a table with this many files is compacted after a lake add


def app_id(run_word: str) -> str:
    return f"{APP_PREFIX}{run_word}"


def open_table(lake: Lake, name: str, schema: pa.Schema, partitions: list[str]) -> DeltaTable:
    """The table ``name`` of the lake, created empty (with ``schema``) if it does not exist."""
    from deltalake import DeltaTable
    from deltalake.exceptions import CommitFailedError, TableNotFoundError

    uri, options = lake.uri(name), lake.storage_options()
    with mapped(f"opening lake table {name}", lake):
        try:
            return DeltaTable(uri, storage_options=options)
        except TableNotFoundError:
            pass
        try:
            return DeltaTable.create(
                uri,
                schema,
                partition_by=partitions or None,
                mode="ignore",
                name=name,
                storage_options=options,
            )
        except CommitFailedError:  # another writer created it first
            return DeltaTable(uri, storage_options=options)


def read_table(lake: Lake, name: str) -> DeltaTable:
    """The table ``name``, which must exist (NotFoundError, exit 2, says to add a run first)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    from genoflow.errors import NotFoundError

    with mapped(f"reading lake table {name}", lake):
        try:
            return DeltaTable(lake.uri(name), storage_options=lake.storage_options())
        except TableNotFoundError:
            raise NotFoundError(
                f"the lake in container {lake.container} has no {name} table yet",
                hint="add runs with 'genoflow lake add RUN...'",
            ) from None


def compact_if_fragmented(lake: Lake, table: DeltaTable, files: int | None = None) -> bool:
    """Rewrite the table's small files into few once it has ``files`` of them (the runs table
    gets one per run: a report would read thousands). Rows and the runs' transactions stay; a
    concurrent writer's compaction wins (this one then does nothing)."""
    from deltalake.exceptions import CommitFailedError

    name = table.metadata().name or "table"
    with mapped(f"compacting lake table {name}", lake):
        table.update_incremental()
        if len(table.file_uris()) < (files or COMPACT_FILES):
            return False
        try:
            table.optimize.compact()
        except CommitFailedError:
            return False
    return True


def holds(table: DeltaTable, run_word: str) -> bool:
    """Whether ``table``'s log (as last read) records the run's transaction."""
    return table.transaction_version(app_id(run_word)) is not None


def commit_run(
    lake: Lake,
    table: DeltaTable,
    run_word: str,
    batches: Callable[[], Iterator[pa.RecordBatch]],
    schema: pa.Schema,
    partitions: list[str],
    metadata: Mapping[str, str],
) -> bool:
    """Append ``batches()`` to ``table`` in one commit keyed by ``run_word``.

    False (nothing written) when the table already has the run, also when a concurrent writer
    committed it first. ``batches`` is called again for each retry."""
    from deltalake.exceptions import CommitFailedError

    name = table.metadata().name or "table"
    for _ in range(COMMIT_TRIES):
        if holds(table, run_word):
            return False
        try:
            with mapped(f"writing lake table {name}", lake):
                _append(table, batches(), schema, partitions, run_word, metadata)
            return True
        except CommitFailedError:
            with mapped(f"reading lake table {name}", lake):
                table.update_incremental()
    raise UnavailableError(
        f"lake table {name}: {COMMIT_TRIES} commits of run {run_word} conflicted with others",
        hint="try again; many writers at once on one table retry each other out",
    )


def _append(
    table: DeltaTable,
    batches: Iterator[pa.RecordBatch],
    schema: pa.Schema,
    partitions: list[str],
    run_word: str,
    metadata: Mapping[str, str],
) -> None:
    from deltalake import CommitProperties, Transaction, write_deltalake

    failed: list[BaseException] = []
    reader = pa.RecordBatchReader.from_batches(schema, _noting(batches, failed))
    try:
        write_deltalake(
            table,
            reader,
            mode="append",
            partition_by=partitions or None,
            target_file_size=TARGET_FILE_BYTES,
            writer_properties=writer_properties(),
            commit_properties=CommitProperties(
                custom_metadata=dict(metadata),
                app_transactions=[Transaction(app_id(run_word), 1)],
            ),
        )
    except Exception:
        if failed:  # the reader's own error (a corrupt VCF: exit 8), not delta-rs's wrapping
            raise failed[0] from None
        raise


def writer_properties() -> WriterProperties:
    """ZSTD, and positions delta-encoded (sorted within a file: about a byte a row instead of
    eight): what a report reads from Blob shrinks, so it answers sooner."""
    from deltalake import ColumnProperties, WriterProperties

    positions = ColumnProperties(dictionary_enabled=False, encoding="DELTA_BINARY_PACKED")
    return WriterProperties(
        max_row_group_size=ROW_GROUP_ROWS,
        compression="ZSTD",
        compression_level=1,
        column_properties={"start": positions, "end": positions},
    )


def _noting(batches: Iterator[pa.RecordBatch], failed: list[BaseException]) -> Iterator[Any]:
    """``batches``, remembering the exception that stops them (delta-rs re-raises it as text)."""
    try:
        yield from batches
    except BaseException as exc:
        failed.append(exc)
        raise
