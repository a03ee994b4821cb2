"""``genoflow upload`` and ``genoflow download``.

Heavy imports (azure, the transfer layer) happen inside the command bodies so that importing
``genoflow.cli`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from genoflow.cli.output import Column, View, size_cell
from genoflow.cli.state import CliState, state_of
from genoflow.errors import InputError, UsageError

if TYPE_CHECKING:
    from genoflow.config import Settings

UPLOAD_HELP = """\
Upload local FASTQ/BAM files to the input container: resumable, verified, parallel.

Each FILE becomes the blob [PREFIX/]NAME. Before any byte is sent, every FILE is checked (a .gz
must be gzip, FASTQ must start with FASTQ records, BAM must be BAM): a wrong file fails with
exit 2, as does a --prefix or name with '.', '..' or empty segments. The whole gzip stream of a
.gz or .bam is checked while it is read: a truncated or corrupt file fails with exit 8 and
nothing is committed. If an upload is interrupted (Ctrl-C, killed, network down), run the same
command again: only the blocks not yet staged are sent. The whole-file MD5 is stored as the
blob's Content-MD5 and checked after the commit (exit 8 if anything does not match). A blob
that already holds the same file (same size and MD5) is skipped; a different one is only
replaced with --overwrite.

\b
Examples:
  genoflow upload sample_R1.fastq.gz sample_R2.fastq.gz
  genoflow upload *.fq.gz --prefix runs/2024-05-01 --tier Cool
  genoflow upload big.bam --concurrency 16 -o json   # one JSON document: a list of files
"""

DOWNLOAD_HELP = """\
Download blobs into a directory: parallel ranges, resumable, MD5-verified.

Data is written to NAME.part and renamed into place only once its MD5 matches the blob's
Content-MD5. Run the same command again after an interruption: only the missing ranges are
fetched. Too little disk space fails with exit 6 before anything is fetched (the partial file
is kept; free space and rerun). An archived blob fails with exit 2 and says how to rehydrate it.

\b
Examples:
  genoflow download sample.bam sample.bam.bai -o results/
  genoflow download runs/r1/sample.vcf.gz --container inputs -o results/ -o tsv
"""


def register(app: typer.Typer) -> None:
    app.command("upload", help=UPLOAD_HELP)(upload)
    app.command("download", help=DOWNLOAD_HELP)(download)


def upload(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Local files to upload."),
    container: Optional[str] = typer.Option(  # noqa: UP045 - typer needs Optional on 3.10
        None, "--container", "-c", help="Target container (default: storage.input_container)."
    ),
    prefix: str = typer.Option("", "--prefix", "-p", help="Virtual folder for the blob names."),
    tier: Optional[str] = typer.Option(  # noqa: UP045
        None, "--tier", help="Access tier: Hot, Cool or Cold (default: storage.upload_tier)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace different blobs."),
    concurrency: Optional[int] = typer.Option(  # noqa: UP045
        None,
        "--concurrency",
        "-n",
        min=1,
        max=64,
        help="Blocks uploaded in parallel (default: storage.max_concurrency).",
    ),
    block_size_mib: Optional[int] = typer.Option(  # noqa: UP045
        None,
        "--block-size-mib",
        min=1,
        max=4000,
        help="Block size (default: chosen from the file size, at least 8 MiB).",
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Ignore blocks staged by an interrupted upload; start over."
    ),
) -> None:
    from genoflow.storage import open_store
    from genoflow.transfer import check_input, needs_gzip_check, upload_file

    state = state_of(ctx)
    settings = _settings(
        state,
        container=container,
        concurrency=concurrency,
        tier=_tier(tier),
        block_size_mib=block_size_mib,
    )
    storage = settings.config.storage
    names = _blob_names(files, prefix)
    for path in files:
        check_input(path)
    store = open_store(storage, concurrency=storage.max_concurrency)
    store.ensure_container(storage.input_container)
    block_size = storage.block_size_mib * 1024 * 1024 if storage.block_size_mib else None
    tier_name = storage.upload_tier.value if storage.upload_tier else None
    records: list[dict[str, Any]] = []
    with state.progress("upload", settings) as bar:
        for path, name in zip(files, names, strict=True):
            result = upload_file(
                store,
                path,
                storage.input_container,
                name,
                overwrite=overwrite,
                tier=tier_name,
                concurrency=storage.max_concurrency,
                block_size=block_size,
                progress=bar(name, path.stat().st_size),
                restart=restart,
                check_gzip=needs_gzip_check(path),
            )
            records.append(_report(state, result.as_dict()))
    state.render(records, TRANSFER_VIEW)


def download(
    ctx: typer.Context,
    blobs: list[str] = typer.Argument(..., metavar="BLOB", help="Blob names to download."),
    container: Optional[str] = typer.Option(  # noqa: UP045
        None, "--container", "-c", help="Container (default: storage.output_container)."
    ),
    output: Path = typer.Option(Path("."), "-o", "--output", help="Directory to write into."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace different local files."),
    concurrency: Optional[int] = typer.Option(  # noqa: UP045
        None,
        "--concurrency",
        "-n",
        min=1,
        max=64,
        help="Ranges fetched in parallel (default: storage.max_concurrency).",
    ),
) -> None:
    from genoflow.storage import open_store
    from genoflow.transfer import DiskFullError, NoSpaceError, check_blob_path, download_blob

    state = state_of(ctx)
    overrides: dict[str, tuple[Any, str]] = {}
    if container:
        overrides["storage.output_container"] = (container, "--container")
    settings = _settings(state, concurrency=concurrency, extra=overrides)
    storage = settings.config.storage
    for name in blobs:
        check_blob_path(name)  # before any request: '..' would reach another container
    if output.exists() and not output.is_dir():
        raise UsageError(f"-o {output} is not a directory")
    output.mkdir(parents=True, exist_ok=True)
    store = open_store(storage, output=True, concurrency=storage.max_concurrency)
    infos = [store.get_blob(storage.output_container, name) for name in blobs]
    records: list[dict[str, Any]] = []
    with state.progress("download", settings) as bar:
        for info in infos:
            try:
                result = download_blob(
                    store,
                    info.container,
                    info.name,
                    output,
                    concurrency=storage.max_concurrency,
                    overwrite=overwrite,
                    progress=bar(info.name, info.size),
                )
            except DiskFullError as exc:
                raise NoSpaceError.of(exc) from exc
            records.append(_report(state, result.as_dict()))
    state.render(records, TRANSFER_VIEW)


# --- helpers ---------------------------------------------------------------------------------
def _settings(
    state: CliState,
    *,
    container: str | None = None,
    concurrency: int | None = None,
    tier: str | None = None,
    block_size_mib: int | None = None,
    extra: dict[str, tuple[Any, str]] | None = None,
) -> Settings:
    overrides: dict[str, tuple[Any, str]] = dict(extra or {})
    for key, value, flag in (
        ("storage.input_container", container, "--container"),
        ("storage.max_concurrency", concurrency, "--concurrency"),
        ("storage.upload_tier", tier, "--tier"),
        ("storage.block_size_mib", block_size_mib, "--block-size-mib"),
    ):
        if value is not None:
            overrides[key] = (value, flag)
    return state.settings(overrides or None)


def _tier(value: str | None) -> str | None:
    if value is None:
        return None
    tier = value.capitalize()
    if tier not in ("Hot", "Cool", "Cold"):
        raise UsageError(
            f"--tier must be Hot, Cool or Cold, not {value!r}",
            hint="Archive is for finished data: see 'genoflow tier'",
        )
    return tier


def _blob_names(files: list[Path], prefix: str) -> list[str]:
    """Checked before any request: '.'/'..' or empty segments would reach another container."""
    from genoflow.transfer import blob_name_for

    names = []
    for path in files:
        if not path.is_file():
            raise InputError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a regular file"
            )
        names.append(blob_name_for(prefix, path.name))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(
            f"two files would upload to the same blob: {', '.join(duplicates)}",
            hint="upload them separately with different --prefix values",
        )
    return names


def _report(state: CliState, result: dict[str, Any]) -> dict[str, Any]:
    """The file's transfer record (schemas/transfer); a summary line for people on stderr."""
    from genoflow.orchestration.api import transfer_record
    from genoflow.units import format_rate, format_size

    record = transfer_record(result)
    where = f"{record['container']}/{record['name']}"
    if record["skipped"]:
        state.info(f"skipped {where}: already up to date (same size and MD5 {record['md5']})")
        return record
    arrow = (
        f"{record['path']} -> {where}"
        if record["status"] == "uploaded"
        else f"{where} -> {record['path']}"
    )
    seconds = float(record["seconds"] or 0.0)
    # Only what this run moved counts for the rate; a resumed transfer says how much that was.
    sent = int(record.get("bytes_sent", record["size"]))
    rate = format_rate(sent / seconds) if seconds > 0 else "-"
    resumed = "" if sent >= record["size"] else f" ({format_size(sent)} sent, the rest resumed)"
    state.info(
        f"{record['status']} {arrow}: {format_size(record['size'])}{resumed} in {seconds:.1f} s "
        f"({rate}), md5 {record['md5']}"
    )
    return record


TRANSFER_VIEW = View(
    columns=(
        Column("status"),
        Column("name"),
        Column("container"),
        Column("path"),
        Column("size", "size", size_cell),
        Column("md5"),
    )
)
