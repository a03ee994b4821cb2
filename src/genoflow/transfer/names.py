"""Blob names checked before anything is sent.

A ``.``/``..`` or empty path segment would be normalised by the HTTP layer into another
container, so such names are refused (exit 2) before a single request, as are names over
1,024 characters. Names genoflow creates (uploads) follow the shared rule,
:func:`genoflow.model.submission.check_blob_name`; names it reads (downloads) may use any other
character a blob name can hold, since the blob already exists.
"""

from __future__ import annotations

from genoflow.errors import InputError
from genoflow.model.submission import check_blob_name

MAX_NAME = 1024

__all__ = ["blob_name_for", "check_blob_name", "check_blob_path"]


def check_blob_path(name: str, what: str = "blob name") -> None:
    """Refuse a name to read that the HTTP layer would rewrite, or that Azure would refuse."""
    segments = name.split("/")
    if not name or len(name) > MAX_NAME or any(part in ("", ".", "..") for part in segments):
        shown = name if len(name) <= 80 else f"{name[:60]}... ({len(name)} characters)"
        raise InputError(
            f"invalid {what} {shown!r}",
            hint="1-1024 characters, with no empty, '.' or '..' path segments and no leading "
            "or trailing '/'",
        )


def blob_name_for(prefix: str, file_name: str) -> str:
    """The blob an upload writes: ``[PREFIX/]NAME``, both checked with the shared rule."""
    folder = prefix.rstrip("/")
    if folder:
        check_blob_name(folder, "--prefix")
    name = f"{folder}/{file_name}" if folder else file_name
    if len(name) > MAX_NAME:  # said here briefly: the shared rule quotes the whole name
        check_blob_path(name, "blob name (--prefix + file name)")
    check_blob_name(name, "blob name (--prefix + file name)")
    return name
