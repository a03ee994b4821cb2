"""`genoflow config check`: prove that storage and the service are reachable and accept us."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genoflow.config import Settings
from genoflow.errors import GenoflowError
from genoflow.redact import redact


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    error: GenoflowError | None = None

    def as_dict(self) -> dict[str, Any]:
        code = None if self.error is None else int(self.error.exit_code)
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "exit_code": code}


def _check(name: str, probe: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, redact(probe()))
    except GenoflowError as exc:
        return CheckResult(name, False, redact(exc.one_line()), exc)


def _storage_probe(settings: Settings, output: bool) -> Callable[[], str]:
    def probe() -> str:
        from genoflow.storage import open_store  # says "no storage account configured" itself

        return open_store(settings.config.storage, output=output).check()

    return probe


def _service_probe(settings: Settings) -> Callable[[], str]:
    def probe() -> str:
        service = settings.config.service
        settings.require("service.url")  # 'config check' has no flag for it
        from genoflow.protocols import open_client

        info = open_client(service).service_info()
        name = info.get("name") or info.get("id") or service.protocol.value
        return f"{service.protocol.value} service at {service.url} answered ({name})"

    return probe


def run_checks(settings: Settings) -> list[CheckResult]:
    """One result per check: input storage, output storage (when separate), service."""
    storage = settings.config.storage
    results = [_check("storage", _storage_probe(settings, output=False))]
    if storage.output_account_name and storage.output_account_name != storage.account_name:
        results.append(_check("output storage", _storage_probe(settings, output=True)))
    results.append(_check("service", _service_probe(settings)))
    return results
