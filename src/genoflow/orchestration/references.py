"""References in Blob, for WES servers that hold none (Toil, wes-server, Sapporo...).

``genoflow reference upload NAME FASTA`` prepares the indexes once (bwa index, samtools faidx,
samtools dict) and stores the FASTA and every index beside each other in the references
container (``storage.reference_container``), under ``NAME/``:

    NAME/NAME.fa  NAME/NAME.fa.amb .ann .bwt .pac .sa .fai  NAME/NAME.dict

A submit to such a server names each of those blobs in the CWL job with a read SAS of its own
(a URL's secondary files cannot be found by suffix).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from genoflow.errors import InputError, UsageError
from genoflow.pipelines.job import REFERENCE_INDEX_INPUTS
from genoflow.storage.sas import FOREIGN_INPUT_PERMISSIONS

if TYPE_CHECKING:
    from genoflow.pipelines.reference import ReferenceFiles
    from genoflow.storage.base import BlobStore

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FASTA_INPUT = "reference"


@dataclass(frozen=True)
class BlobReference:
    """Where a reference's files are in Blob: ``container/NAME/...``."""

    name: str
    container: str

    def blobs(self) -> dict[str, str]:
        """CWL input name of #main (``reference``, ``reference_amb``...) -> blob name."""
        fasta = f"{self.name}/{self.name}.fa"
        index = {
            key: f"{self.name}/{self.name}.dict" if key == "reference_dict" else fasta + suffix
            for key, suffix in REFERENCE_INDEX_INPUTS.items()
        }
        return {FASTA_INPUT: fasta, **index}

    def beside(self, file_name: str) -> str:
        """A file named relative to the reference's folder (known sites)."""
        return f"{self.name}/{file_name}"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UsageError(
            f"reference name {name!r} is not valid",
            hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def local_files(reference: ReferenceFiles) -> dict[str, Path]:
    """CWL input name -> the prepared local file (the FASTA and each index beside it)."""
    index = {
        key: reference.dict if key == "reference_dict" else Path(f"{reference.fasta}{suffix}")
        for key, suffix in REFERENCE_INDEX_INPUTS.items()
    }
    return {FASTA_INPUT: reference.fasta, **index}


def upload_reference(
    store: BlobStore,
    reference: BlobReference,
    fasta: Path,
    work_dir: Path,
    *,
    overwrite: bool = False,
    info: Callable[[str], None] = lambda message: None,
) -> list[str]:
    """Prepare ``fasta``'s indexes in ``work_dir`` (once: nothing is rebuilt while they are
    newer than the FASTA) and upload all of them; blobs already there with the same content
    are skipped, different ones refused unless ``overwrite``. Returns the blob names."""
    from genoflow.pipelines.reference import prepare_reference
    from genoflow.transfer.upload import upload_file

    check_name(reference.name)
    prepared = prepare_reference(fasta, work_dir)
    store.ensure_container(reference.container)
    files, blobs = local_files(prepared), reference.blobs()
    for key, path in files.items():
        result = upload_file(store, path, reference.container, blobs[key], overwrite=overwrite)
        done = "already in" if result.skipped else "uploaded to"
        info(f"{done} {reference.container}/{blobs[key]}: {path.name}")
    return [blobs[key] for key in files]


def check_uploaded(store: BlobStore, reference: BlobReference) -> None:
    """InputError (exit 2) naming what is missing when the reference is not (all) in Blob."""
    names = reference.blobs().values()
    missing = [name for name in names if store.find_blob(reference.container, name) is None]
    if missing:
        raise InputError(
            f"reference {reference.name!r} is not in container {reference.container} "
            f"(missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''})",
            hint=f"upload it once: genoflow reference upload {reference.name} FASTA",
        )


def reference_urls(store: BlobStore, reference: BlobReference, expiry: datetime) -> dict[str, str]:
    """CWL input name -> the blob's URL with a read SAS of its own, valid until ``expiry``."""
    blobs = reference.blobs().items()
    return {key: signed_url(store, reference.container, name, expiry) for key, name in blobs}


def signed_url(store: BlobStore, container: str, name: str, expiry: datetime) -> str:
    """The blob's URL with a read-only SAS for that blob alone."""
    return store.blob_url(
        container, name, store.sas_until(container, name, FOREIGN_INPUT_PERMISSIONS, expiry)
    )


def index_of(urls: Mapping[str, str]) -> dict[str, str]:
    """The index files' URLs (JobFiles.index) of a reference_urls answer."""
    return {key: url for key, url in urls.items() if key != FASTA_INPUT}


__all__ = [
    "BlobReference",
    "check_name",
    "check_uploaded",
    "index_of",
    "reference_urls",
    "signed_url",
    "upload_reference",
]
