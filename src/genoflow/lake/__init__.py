"""The variant lake: every run's calls in Delta tables on Azure Blob (delta-rs, no JVM).

* :mod:`~genoflow.lake.schema`: the ``calls``, ``runs`` and ``qc`` tables (Glow's column names);
* :mod:`~genoflow.lake.location`: the lake container and delta-rs's storage options;
* :mod:`~genoflow.lake.vcf`: a VCF streamed into Arrow batches (pysam);
* :mod:`~genoflow.lake.tables`: commits keyed by run (idempotent, safe under concurrency);
* :mod:`~genoflow.lake.fetching`: a run's VCF, verified by fetch; :mod:`~genoflow.lake.parallel`:
  VCF windows parsed by worker processes;
* :mod:`~genoflow.lake.ingest`: ``lake add``; :mod:`~genoflow.lake.qc`: a run's QC record;
  :mod:`~genoflow.lake.auto`: ``lake.auto``;
* :mod:`~genoflow.lake.report` / :mod:`~genoflow.lake.html`: ``lake report`` (DuckDB);
* :mod:`~genoflow.lake.export`: ``lake export`` (plain Parquet).

Needs the ``lake`` extra (deltalake, duckdb, pyarrow, pysam); nothing imports it at start-up.
"""

from __future__ import annotations

import importlib

from genoflow.errors import UsageError

EXTRA_MODULES = ("deltalake", "duckdb", "pyarrow", "pysam")
# The tables' folders in the lake container (here: importable without the extra).
CALLS_TABLE = "calls"
RUNS_TABLE = "runs"
QC_TABLE = "qc"


def require_extra() -> None:
    """UsageError (exit 2) naming what to install when the ``lake`` extra is missing."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UsageError(
            f"the variant lake needs {', '.join(missing)}",
            hint="install genoflow's lake extra: pip install 'genoflow[lake]'",
        )
