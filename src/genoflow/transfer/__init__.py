"""Resumable, verified, parallel transfers on top of :mod:`genoflow.storage`.

- :func:`upload_file`: block upload, resumable across processes, end-to-end MD5;
- :func:`download_blob`: ranged parallel download into ``.part``, resumable, MD5-verified;
- :func:`check_fastq` / :func:`check_input`: fast sanity checks before anything is sent.
"""

from genoflow.transfer.blocks import choose_block_size
from genoflow.transfer.cancel import TransferCancelled
from genoflow.transfer.checks import check_fastq, check_input
from genoflow.transfer.disk import DiskFullError, NoSpaceError
from genoflow.transfer.download import DownloadResult, download_blob, target_path
from genoflow.transfer.gzcheck import needs_gzip_check
from genoflow.transfer.names import blob_name_for, check_blob_path
from genoflow.transfer.upload import DEFAULT_CONCURRENCY, UploadResult, file_md5, upload_file

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DiskFullError",
    "DownloadResult",
    "NoSpaceError",
    "TransferCancelled",
    "UploadResult",
    "blob_name_for",
    "check_blob_path",
    "check_fastq",
    "check_input",
    "choose_block_size",
    "download_blob",
    "file_md5",
    "needs_gzip_check",
    "target_path",
    "upload_file",
]
