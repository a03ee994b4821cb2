"""A WES server that is not genoflow server: what it must offer to run the packed pipeline,
and the run request that sends it (the workflow as an attachment, a CWL job for ``#main``).

Pure (no HTTP): the client asks service-info once and decides here, before anything is
uploaded, whether the server can run the pipeline at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genoflow.errors import UsageError
from genoflow.model.submission import SubmitRequest
from genoflow.protocols.wes import wire

# The attachment's file name; workflow_url names it (relative), so #main, the packed
# document's default entry point, runs.
WORKFLOW_NAME = "genoflow-pipeline.cwl"
# The blob URLs the job names are http(s): the server must fetch those.
URL_SCHEMES = ("https", "http")


def refusal(info: wire.ServiceInfo, engine: str | None) -> str | None:
    """Why the server cannot run the packed pipeline (CWL v1.2, URL inputs), or None."""
    types = sorted(info.workflow_type_versions)
    if types and not info.supports_cwl():
        return f"the WES server runs no CWL workflows (it offers {', '.join(types)})"
    versions = info.cwl_versions()
    if types and wire.WORKFLOW_TYPE_VERSION not in versions:
        return (
            f"the WES server runs CWL {', '.join(versions) or '(no version)'}; the pipeline is "
            f"CWL {wire.WORKFLOW_TYPE_VERSION}"
        )
    protocols = {p.lower() for p in info.supported_filesystem_protocols}
    if protocols and not protocols & set(URL_SCHEMES):
        return f"the WES server reads no http(s) URLs (it reads {', '.join(sorted(protocols))})"
    return engine_refusal(info, engine)


def engine_refusal(info: wire.ServiceInfo, engine: str | None) -> str | None:
    offered = sorted(info.workflow_engine_versions)
    if engine and offered and engine not in offered:
        return f"the WES server offers the workflow engines {', '.join(offered)}, not {engine!r}"
    if not engine and len(offered) > 1:
        # Sapporo answers 400 without one; which engine runs CWL is not said in service-info
        return (
            f"the WES server runs several workflow engines ({', '.join(offered)}) and "
            "genoflow was not told which to ask for"
        )
    return None


def check_runs_pipeline(info: wire.ServiceInfo, engine: str | None) -> None:
    """UsageError (exit 2) naming the reason when the server cannot run the pipeline."""
    reason = refusal(info, engine)
    if reason:
        raise UsageError(
            f"cannot submit to this WES server: {reason}",
            hint="set service.workflow_engine to an engine that runs CWL v1.2 (e.g. cwltool)"
            if "engine" in reason
            else "submit to a WES server that runs CWL v1.2 workflows from http(s) URLs",
        )


def engine_to_ask(info: wire.ServiceInfo, engine: str | None) -> str | None:
    """The configured engine, else the server's only one (naming it is always right)."""
    offered = list(info.workflow_engine_versions)
    return engine or (offered[0] if len(offered) == 1 else None)


def run_request(
    request: SubmitRequest, job: Mapping[str, Any], engine: str | None
) -> wire.RunRequest:
    """The RunRequest of the packed pipeline with ``job`` (a CWL job for ``#main``); genoflow's
    tags ride along so that the run reads back with its sample, process and submission key."""
    return wire.RunRequest(
        workflow_url=WORKFLOW_NAME,
        workflow_params=dict(job),
        tags=wire.submit_tags(request),
        workflow_engine=engine,
    )


__all__ = ["WORKFLOW_NAME", "check_runs_pipeline", "engine_to_ask", "refusal", "run_request"]
