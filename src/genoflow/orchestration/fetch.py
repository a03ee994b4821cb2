"""``genoflow fetch``: download a finished run's outputs, verified, and mark them fetched.

A run whose service recorded its outputs (genoflow server: name, size, MD5 of each file as it
was committed) gets exactly that list, each file checked against the recorded MD5. For other
services the outputs are found from what every host can see: blob URLs in the run's WES
``outputs``, else the output base that ``submit`` wrote for this service's run in the
``genoflow-output`` tag of its inputs, else the run's sample name (msgen's default base).
After a complete download each output gets the ``genoflow-run`` (``<service>:<run id>``),
``genoflow-role``, ``genoflow-kind`` and ``genoflow-fetched`` tags, which ``genoflow tier``
policies may wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genoflow.errors import IntegrityError, NotFoundError, UsageError
from genoflow.model import tags as tagnames
from genoflow.model.outputs import QC_KINDS, RunOutput, output_base_of
from genoflow.model.runs import Run
from genoflow.tiering.facts import format_time
from genoflow.tiering.sources import output_refs

if TYPE_CHECKING:
    from genoflow.protocols.base import ServiceClient
    from genoflow.storage.base import BlobInfo, BlobStore
    from genoflow.transfer.progress import Tracker

FETCHABLE_KINDS = ("bam", "bai", "vcf", "gvcf", "tbi", "logs", "qc")
# A variant file is of little use without its index; a run asked for gVCF has no plain VCF;
# "qc" is every file of the QC step (qc.json, the page and the tools' files MultiQC reads).
_BRINGS_ALONG = {"vcf": ("gvcf", "tbi"), "gvcf": ("tbi",), "qc": QC_KINDS}


@dataclass(frozen=True)
class FetchedFile:
    blob: str
    path: Path
    size: int
    verified: bool
    skipped: bool
    checked_against: str  # "run record" (the producer's MD5) or "blob" (its Content-MD5)
    # as upload/download report them (schemas/transfer): the same keys for every file moved
    md5: str | None = None
    seconds: float | None = None
    mib_per_s: float | None = None
    bytes_sent: int = 0  # fetched by this run: 0 when skipped, less than size when resumed


@dataclass
class FetchResult:
    run_id: str
    state: str
    service: str | None = None
    files: list[FetchedFile] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "service": self.service,
            "state": self.state,
            "files": [
                {
                    "blob": f.blob,
                    "path": str(f.path),
                    "size": f.size,
                    "verified": f.verified,
                    "checked_against": f.checked_against,
                    "skipped": f.skipped,
                    "md5": f.md5,
                    "seconds": f.seconds,
                    "mib_per_s": f.mib_per_s,
                    "bytes_sent": f.bytes_sent,
                }
                for f in self.files
            ],
        }


@dataclass(frozen=True)
class Output:
    """One blob to fetch, with what the run recorded for it (None for foreign servers)."""

    blob: BlobInfo
    recorded: RunOutput | None = None


def parse_kinds(text: str | None) -> frozenset[str] | None:
    """``--only bam,vcf`` -> {"bam", "vcf"}; "vcf" also brings the gVCF and its index."""
    if not text:
        return None
    kinds = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(kinds - set(FETCHABLE_KINDS))
    if unknown:
        raise UsageError(
            f"--only: unknown kind(s) {', '.join(unknown)}",
            hint=f"use a comma-separated list of {', '.join(FETCHABLE_KINDS)}",
        )
    return frozenset(kinds).union(*(_BRINGS_ALONG.get(kind, ()) for kind in kinds))


def fetch_outputs(
    client: ServiceClient,
    store: BlobStore,
    container: str,
    run_id: str,
    dest: Path,
    *,
    kinds: frozenset[str] | None,
    now: datetime,
    inputs: tuple[BlobStore, str] | None = None,
    progress: Callable[[str], None] | None = None,
    overwrite: bool = False,
    tracker_for: Callable[[str, int], Tracker] | None = None,
    mark_fetched: bool = True,
    run: Run | None = None,
) -> FetchResult:
    """Download the outputs of run ``run_id`` into ``dest``, verify them, then tag them.

    A run that recorded its outputs gets exactly those, each checked against the recorded MD5
    (IntegrityError, nothing tagged, on a mismatch); others are found as the module says.
    ``tracker_for(label, size)``: each download's progress tracker (genoflow.transfer.progress).
    ``mark_fetched=False``: a read that is not a delivery (``genoflow qc``, ``list --qc``) leaves
    the blobs' tags as they are (no write, so a read-only SAS does; ``since: fetched`` rules
    keep counting). ``run``: the run already read from the service, not read again."""
    from genoflow.transfer import download_blob

    if run is None:
        run = client.get(run_id)
    _require_finished(run)
    outputs = find_outputs(run, store, container, inputs, kinds)
    if not outputs:
        raise NotFoundError(
            f"no outputs of run {run_id} found in container {container}",
            hint="check storage.output_container, or --only",
        )
    _refuse_archived(o.blob for o in outputs)
    for output in outputs:  # a blob replaced since the run wrote it is refused before any byte
        _check_blob(run, output)
    dest.mkdir(parents=True, exist_ok=True)
    result = FetchResult(run.id, run.state.value, run.service)
    for output in outputs:
        blob = output.blob
        inner = tracker_for(blob.name, blob.size) if tracker_for else None
        announce = _Announce(progress, f"fetching {blob.container}/{blob.name}", blob.size, inner)
        done = download_blob(
            store, blob.container, blob.name, dest, overwrite=overwrite, progress=announce
        )
        _check_download(run, output, Path(done.path), done.md5, done.skipped)
        moved = done.as_dict()
        result.files.append(
            FetchedFile(
                blob.name,
                Path(done.path),
                done.bytes,
                verified=output.recorded is not None or done.verified,
                skipped=done.skipped,
                checked_against="run record" if output.recorded else "blob",
                md5=done.md5,
                seconds=moved["seconds"],
                mib_per_s=moved["mib_per_s"],
                bytes_sent=done.bytes_sent,
            )
        )
    if not mark_fetched:
        return result
    for output in outputs:  # only once every file is verified on disk
        blob = output.blob
        store.set_tags(blob.container, blob.name, fetched_tags(blob, run, now))
    return result


@dataclass
class _Announce:
    """A download tracker that says "fetching" only once bytes are to move: a file already on
    disk with the same MD5 is skipped without it."""

    say: Callable[[str], None] | None
    what: str
    size: int
    inner: Tracker | None = None  # the download's progress, if shown

    def __call__(self, count: int) -> None:
        if self.inner:
            self.inner(count)

    def resumed(self, count: int) -> None:
        if self.inner:
            self.inner.resumed(count)

    def phase(self, name: str) -> None:
        if name == "downloading" and self.say:
            from genoflow.units import format_size

            self.say(f"{self.what} ({format_size(self.size)})")
        if self.inner:
            self.inner.phase(name)


def _check_blob(run: Run, output: Output) -> None:
    recorded, blob = output.recorded, output.blob
    if recorded is None:
        return
    if recorded.size is not None and blob.size != recorded.size:
        got = f"{blob.size} bytes, the run recorded {recorded.size}"
    elif recorded.md5 and blob.md5 and blob.md5.lower() != recorded.md5:
        got = f"md5 {blob.md5}, the run recorded {recorded.md5}"
    else:
        return
    raise _mismatch(run, blob, got)


def _check_download(run: Run, output: Output, path: Path, md5: str, skipped: bool) -> None:
    recorded = output.recorded
    if recorded is None or not recorded.md5 or md5.lower() == recorded.md5:
        return
    if not skipped:  # never leave a file that is not the run's output where it belongs
        path.unlink(missing_ok=True)
    raise _mismatch(run, output.blob, f"md5 {md5}, the run recorded {recorded.md5}")


def _mismatch(run: Run, blob: BlobInfo, got: str) -> IntegrityError:
    return IntegrityError(
        f"{blob.container}/{blob.name} is not what run {run.id} wrote ({got})",
        hint="it was replaced after the run; nothing was marked fetched",
    )


def _require_finished(run: Run) -> None:
    if run.state.terminal:
        return
    raise UsageError(
        f"run {run.id} is {run.state.display_name.lower()}: its outputs can be "
        "fetched once it has finished",
        hint=f"wait for it with 'genoflow wait {run.id}'",
    )


def _refuse_archived(blobs: Iterable[BlobInfo]) -> None:
    from genoflow.storage.base import REHYDRATE_HINT

    archived = [b for b in blobs if b.archived]
    if archived:
        first = archived[0]
        names = ", ".join(b.name for b in archived)
        raise UsageError(
            f"cannot fetch {names}: in the Archive tier",
            hint=REHYDRATE_HINT.format(container=first.container, name=first.name),
        )


def fetched_tags(blob: BlobInfo, run: Run, now: datetime) -> dict[str, str]:
    words = (blob.tags or {}).get(tagnames.RUN_ID, "").split()
    mine = tagnames.run_word(run.service, run.id)
    tags = {
        tagnames.RUN_ID: " ".join(sorted({*words, mine})),
        tagnames.ROLE: tagnames.ROLE_OUTPUT,
        tagnames.FETCHED: format_time(now),
    }
    kind = tagnames.kind_of(blob.name)
    if kind:
        tags[tagnames.KIND] = kind
    return tags


def find_outputs(
    run: Run,
    store: BlobStore,
    container: str,
    inputs: tuple[BlobStore, str] | None = None,
    kinds: frozenset[str] | None = None,
) -> list[Output]:
    """The run's outputs of ``kinds`` (all when None): the recorded ones when the run has a
    record, else found as the module docstring says. NotFoundError (exit 2) when an output
    the run names is no longer there."""

    def wanted(name: str, kind: str | None = None) -> bool:
        return kinds is None or (kind or tagnames.kind_of(name)) in kinds

    located: list[tuple[str, str, RunOutput | None]]
    if run.outputs:
        chosen = [o for o in run.outputs if wanted(o.name, o.kind)]
        located = [(o.container or container, o.name, o) for o in chosen]
    else:
        listed = sorted(
            {r.name for r in output_refs(run.output_document) if r.container == container}
        )
        located = [(container, name, None) for name in listed if wanted(name)]
        if not listed:
            blobs = _found_by_base(run, store, container, inputs)
            return [Output(b) for b in blobs if wanted(b.name)]
    found = [(store.find_blob(c, name), record) for c, name, record in located]
    missing = [
        f"{c}/{name}"
        for (c, name, _), (info, _) in zip(located, found, strict=True)
        if info is None
    ]
    if missing:
        raise NotFoundError(
            f"run {run.id} lists outputs that are not in storage: {', '.join(missing)}",
            hint="they were moved or deleted; fetch the others with --only",
        )
    return [Output(info, record) for info, record in found if info is not None]


def _found_by_base(
    run: Run, store: BlobStore, container: str, inputs: tuple[BlobStore, str] | None
) -> list[BlobInfo]:
    for base in _output_bases(run, container, inputs):
        prefix_blobs = store.list_blobs(container, base, include_tags=True)
        matched = [b for b in prefix_blobs if output_base_of(b.name) == base]
        if matched:
            return matched
    return []


def _output_bases(run: Run, container: str, inputs: tuple[BlobStore, str] | None) -> list[str]:
    """Bases the run's inputs' tags give for this service's run, then the sample name."""
    bases: list[str] = []
    if inputs is not None:
        input_store, input_container = inputs
        for info in input_store.list_blobs(input_container, include_tags=True):
            for out_container, base in tagnames.output_bases(info.tags or {}, run.service, run.id):
                if out_container == container and base not in bases:
                    bases.append(base)
    if run.sample and run.sample not in bases:
        bases.append(run.sample)
    return bases


__all__ = ["FetchResult", "fetch_outputs", "find_outputs", "parse_kinds"]
