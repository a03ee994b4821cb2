"""``genoflow server`` configuration (``server.yaml``), separate from the client's config.

Precedence: flags > ``GENOFLOW_SERVER_API_KEYS`` (keys only) > ``-f server.yaml`` > defaults.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from genoflow.errors import ConfigError
from genoflow.model.submission import ACCOUNT_RE, check_account_name
from genoflow.redact import register_secret

API_KEYS_ENV = "GENOFLOW_SERVER_API_KEYS"
DEFAULT_ENDPOINT_TEMPLATE = "https://{account}.blob.core.windows.net"
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/-]*)?$")


class ToilConfig(BaseModel):
    """toil-cwl-runner's settings (docs/scale-out.md: Slurm, multi-node, Kubernetes)."""

    model_config = ConfigDict(extra="forbid")
    batch_system: str = Field("single_machine", description="single_machine, slurm, kubernetes...")
    args: list[str] = Field(default_factory=list, description="extra toil-cwl-runner arguments")
    job_store_dir: Path | None = Field(
        None, description="each run's job store under it (seen by every node); default: work dir"
    )
    work_dir: Path | None = Field(
        None, description="Toil's --workDir on every node; default: the run's work dir"
    )
    default_memory: str | None = Field(None, description="--defaultMemory, e.g. 2Gi")
    max_cores: int | None = Field(None, ge=1, description="--maxCores: cap on a job's cores")
    slurm_time: str | None = Field(None, description="--slurmTime: a job's limit, [D-]HH:MM:SS")
    slurm_args: str | None = Field(None, description="--slurmArgs, e.g. '--partition=genomics'")
    state_polling_wait: int | None = Field(
        None, ge=1, description="--statePollingWait: seconds between batch system queries"
    )
    caching: bool | None = Field(None, description="--caching: Toil's per-node file cache")
    cores: int | None = Field(
        None, ge=1, description="cores the batch system gives one run: plans its shards"
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="set for Toil and its jobs, e.g. SLURM_CONF"
    )


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path("genoflow-server")
    api_keys: list[str] = Field(default_factory=list, description="accepted keys (two: rotation)")
    max_concurrent_runs: int = Field(1, ge=1, le=64)
    threads: int = Field(2, ge=1, le=256, description="threads per run for bwa/samtools/bcftools")
    engine: Literal["cwltool", "toil"] = "cwltool"
    engine_args: list[str] = Field(default_factory=list)
    toil: ToilConfig = ToilConfig()
    references: dict[str, Path] = Field(default_factory=dict, description="name -> FASTA")
    storage_endpoints: dict[str, str] = Field(
        default_factory=dict, description="account name -> blob endpoint URL"
    )
    endpoint_template: str = DEFAULT_ENDPOINT_TEMPLATE
    allow_custom_workflows: bool = False
    max_request_bytes: int = Field(1_048_576, ge=1024)
    request_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="a request's headers and body must arrive within this"
    )
    keep_alive_seconds: int = Field(5, ge=1, le=3600, description="idle keep-alive limit")
    max_connections: int | None = Field(
        1000, ge=1, description="open connections and requests in flight; beyond: 503"
    )
    tenant_id: int = 1
    # --- run executor: storage deadlines and disk (docs/server.md, "Deadlines and disk") ---
    storage_connect_timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="connect timeout of one storage request"
    )
    storage_read_timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description="a storage request with no byte for this long fails"
    )
    transfer_deadline_seconds: float = Field(
        21_600.0, gt=0, description="storage time a run may spend in all (reads, checks, writes)"
    )
    keep_failed_workdirs: bool = Field(
        True, description="keep work/<id> of failed or cancelled runs (inputs always removed)"
    )
    disk_space_factor: float = Field(
        3.0, ge=0, description="free space needed before a run: factor x input size + minimum"
    )
    min_free_disk_gib: float = Field(1.0, ge=0, description="free space needed besides")

    @field_validator("storage_endpoints")
    @classmethod
    def _endpoints(cls, value: dict[str, str]) -> dict[str, str]:
        for account, url in value.items():
            if not ACCOUNT_RE.match(account):
                raise ValueError(f"{account!r} is not a storage account name (3-24 a-z 0-9)")
            if not _URL_RE.match(url):
                raise ValueError(f"{account}: {url!r} is not an http(s) URL")
        return {account: url.rstrip("/") for account, url in value.items()}

    @field_validator("endpoint_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{account}" not in value or not _URL_RE.match(value.replace("{account}", "a")):
            raise ValueError("must be an http(s) URL containing {account}")
        return value.rstrip("/")

    def endpoint_for(self, account: str) -> str:
        """Blob endpoint of a storage account: explicit map first, then the template.

        Endpoints come from configuration only, never from request data: the account name is
        checked against Azure's rules first, so it cannot smuggle a host, port or path into
        the template (no server-side request forgery through a submit)."""
        check_account_name(account)
        return self.storage_endpoints.get(account) or self.endpoint_template.format(account=account)

    @property
    def database(self) -> Path:
        return self.data_dir / "runs.sqlite"

    @property
    def work_root(self) -> Path:
        return self.data_dir / "work"

    @property
    def log_root(self) -> Path:
        """Each run's log, kept after its work dir is gone (served by both APIs)."""
        return self.data_dir / "logs"

    @property
    def reference_root(self) -> Path:
        return self.data_dir / "references"

    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def load_server_config(
    path: Path | None, overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> ServerConfig:
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_yaml(path)
    keys = environ.get(API_KEYS_ENV)
    if keys is not None and keys.strip():
        listed = [key.strip() for key in keys.split(",") if key.strip()]
        if not listed:  # " , " must not silently replace the configured keys with none
            raise ConfigError(
                f"{API_KEYS_ENV} is set but holds no key",
                hint="give comma-separated keys, or unset it to use api_keys from the config",
            )
        data["api_keys"] = listed
    data.update({key: value for key, value in overrides.items() if value is not None})
    try:
        config = ServerConfig.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path else "server settings"
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{where}: {key}: {first['msg']}") from None
    for key in config.api_keys:
        register_secret(key)
    if not config.api_keys and not config.is_loopback():
        raise ConfigError(
            f"refusing to listen on {config.host} without API keys",
            hint=f"set api_keys in the server config or {API_KEYS_ENV}, or listen on 127.0.0.1",
        )
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"server config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return document
