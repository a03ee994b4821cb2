"""The configuration schema: every key, its type, default and validation rule.

Validation messages are written for the user: they say what a valid value looks like, and the
loader prefixes them with the file and the key path (``storage.input_container: ...``).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from genoflow.model.submission import ACCOUNT_RE, BLOB_NAME_RE, CONTAINER_RE


class Protocol(str, Enum):
    msgenomics = "msgenomics"
    wes = "wes"


class AuthMethod(str, Enum):
    auto = "auto"
    key = "key"
    sas = "sas"
    connection_string = "connection_string"
    identity = "identity"


class RefConfidence(str, Enum):
    none = "none"
    gvcf = "gvcf"


class Tier(str, Enum):
    hot = "Hot"
    cool = "Cool"
    cold = "Cold"


def _container(value: str | None) -> str | None:
    if value is not None and not CONTAINER_RE.match(value):
        raise ValueError(
            "must be 3-63 lowercase letters, digits or hyphens "
            "(no leading, trailing or double hyphen)"
        )
    return value


def _account(value: str | None) -> str | None:
    if value is not None and not ACCOUNT_RE.match(value):
        raise ValueError("must be 3-24 lowercase letters or digits (the storage account name)")
    return value


ContainerName = Annotated[str, AfterValidator(_container)]
AccountName = Annotated[str | None, AfterValidator(_account)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class RetryConfig(_Section):
    """Retries of transient faults: exponential backoff with jitter, honouring Retry-After."""

    attempts: int = Field(6, ge=1, le=100, description="tries in all, the first included")
    initial_delay: float = Field(1.0, ge=0, description="seconds before the first retry")
    max_delay: float = Field(60.0, ge=0, description="cap on one wait, seconds")
    total_seconds: float = Field(600.0, ge=0, description="give up once this much time is spent")


class ServiceConfig(_Section):
    protocol: Protocol = Protocol.msgenomics
    url: str | None = Field(None, description="base URL of the service")
    api_key: str | None = Field(None, description="subscription key / bearer token (secret)")
    timeout: float = Field(30.0, gt=0, description="seconds for one HTTP request")
    poll_interval: float = Field(5.0, gt=0, description="first wait between status polls")
    poll_max_interval: float = Field(60.0, gt=0, description="longest wait between polls")
    workflow_engine: str | None = Field(
        None,
        description="wes only: the engine to ask the server for (Sapporo requires one, e.g. "
        "cwltool); unset: the server's default",
    )
    cancel_wait: float = Field(
        10.0, ge=0, description="wes: seconds cancel watches a run stop before saying it did not"
    )
    retry: RetryConfig = RetryConfig()

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                "must be an http:// or https:// URL, e.g. https://genomics.example.org"
            )
        return value


class StorageConfig(_Section):
    account_name: AccountName = None
    account_url: str | None = Field(None, description="blob endpoint, e.g. for Azurite")
    connection_string: str | None = None
    account_key: str | None = None
    sas_token: str | None = None
    auth: AuthMethod = AuthMethod.auto
    output_account_name: AccountName = None
    output_account_key: str | None = None
    input_container: ContainerName = "inputs"
    output_container: ContainerName = "outputs"
    reference_container: ContainerName = Field(
        "references", description="references for WES servers that hold none (input account)"
    )
    max_concurrency: int = Field(16, ge=1, le=64)
    block_size_mib: int | None = Field(None, ge=1, le=4000, description="None: from file size")
    upload_tier: Tier | None = None
    api_version: str | None = Field(None, description="pin the storage REST API version")
    retry: RetryConfig = RetryConfig()
    progress_interval: float = Field(
        30.0, gt=0, description="seconds between transfer status lines off a terminal"
    )

    @field_validator("account_url")
    @classmethod
    def _account_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s]+$", value):
            raise ValueError(
                "must be an http(s) URL such as https://myaccount.blob.core.windows.net"
            )
        return value.rstrip("/") if value else value


class WorkflowConfig(_Section):
    process: str = "snapgatk"
    process_args: str | None = Field(None, description="K=V;K=V, e.g. R=b37m1")
    reference: str = "b37m1"
    bqsr: bool = True
    read_group: str | None = None
    emit_ref_confidence: RefConfidence = RefConfidence.none
    bgzip_output: bool | None = Field(None, description="None: on for gVCF, off for VCF")
    sas_duration_hours: int = Field(48, ge=1, le=24 * 365)
    output_filename_base: str | None = None
    output_overwrite: bool = False
    output_include_logs: bool = True
    description: str | None = Field(None, max_length=500)
    poll: bool = False
    input_blob_name_1: list[str] = []
    input_blob_name_2: list[str] = []
    known_sites: list[str] = Field(
        [], description="BQSR known-sites VCFs: names beside the reference, or blob URLs"
    )

    @field_validator("read_group")
    @classmethod
    def _read_group(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("@RG") or len(value) > 1000):
            raise ValueError(
                r"must start with @RG and be at most 1000 characters, e.g. '@RG\tID:x\tSM:y'"
            )
        return value

    @field_validator("process_args")
    @classmethod
    def _process_args(cls, value: str | None) -> str | None:
        if value:
            for part in filter(None, value.split(";")):
                if "=" not in part:
                    raise ValueError("must be K=V pairs separated by ';', e.g. R=b37m1")
        return value or None

    @field_validator("input_blob_name_1", "input_blob_name_2")
    @classmethod
    def _blob_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not BLOB_NAME_RE.match(name) or name.startswith("/"):
                raise ValueError(
                    f"{name!r}: blob names use only A-Z a-z 0-9 . _ / - and must not start with /"
                )
        return value


class TieringConfig(_Section):
    policy: str | None = Field(None, description="path of the tiering policy YAML")
    prices: str | None = Field(None, description="path of a price table YAML")


class LakeConfig(_Section):
    container: ContainerName = Field(
        "lake", description="container of the variant lake's Delta tables (output account)"
    )
    auto: bool = Field(False, description="add a run to the lake when 'wait' sees it succeed")


def _limit(description: str) -> Any:
    return Field(None, ge=0, description=description)


class QcThresholds(_Section):
    """The lab's QC limits (genoflow qc flags a run outside them; unset: not checked).
    Rates and fractions are between 0 and 1; metric names as in genoflow.qc.thresholds."""

    mean_coverage_min: float | None = _limit("mean depth over the reference, e.g. 25")
    median_coverage_min: float | None = _limit("median depth over the reference")
    fraction_ge_10x_min: float | None = _limit("fraction of bases at >= 10x, e.g. 0.95")
    fraction_ge_20x_min: float | None = _limit("fraction of bases at >= 20x, e.g. 0.9")
    mapped_rate_min: float | None = _limit("mapped / primary reads, e.g. 0.95")
    properly_paired_rate_min: float | None = _limit("properly paired / paired reads")
    duplicate_rate_max: float | None = _limit("duplicates / mapped reads, e.g. 0.2")
    insert_size_median_min: float | None = _limit("median insert size, bp")
    insert_size_median_max: float | None = _limit("median insert size, bp")
    ti_tv_min: float | None = _limit("SNV transitions / transversions, e.g. 1.8 (WGS ~2.0)")
    ti_tv_max: float | None = _limit("SNV transitions / transversions")
    het_hom_ratio_min: float | None = _limit("heterozygous / homozygous ALT genotypes")
    het_hom_ratio_max: float | None = _limit("heterozygous / homozygous ALT genotypes")


class QcConfig(_Section):
    thresholds: QcThresholds = QcThresholds()


class GenoflowConfig(_Section):
    service: ServiceConfig = ServiceConfig()
    storage: StorageConfig = StorageConfig()
    workflow: WorkflowConfig = WorkflowConfig()
    tiering: TieringConfig = TieringConfig()
    lake: LakeConfig = LakeConfig()
    qc: QcConfig = QcConfig()

    @model_validator(mode="before")
    @classmethod
    def _sections_are_mappings(cls, data: Any) -> Any:
        if data is None:
            return {}
        return data


# Dotted key paths whose values are secrets: never printed, registered for redaction.
SECRET_KEYS = frozenset(
    {
        "service.api_key",
        "storage.account_key",
        "storage.sas_token",
        "storage.connection_string",
        "storage.output_account_key",
    }
)
