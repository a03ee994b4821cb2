"""Service protocol clients: the only package that imports requests.

``open_client(service)`` returns the :class:`ServiceClient` for ``service.protocol``. The wire
modules (``protocols.msgenomics.wire``, ``protocols.wes.wire``) import no HTTP library, so that
``genoflow server`` reuses them; this package's ``__init__`` imports requests only inside
:func:`open_client`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from genoflow.config.schema import Protocol, ServiceConfig
from genoflow.errors import ConfigError
from genoflow.protocols.base import ServiceClient

if TYPE_CHECKING:
    import requests


def open_client(
    service: ServiceConfig,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    session: requests.Session | None = None,
) -> ServiceClient:
    """The client for ``service`` (a factory on ``service.protocol``)."""
    from genoflow.protocols.http import HttpClient
    from genoflow.redact import register_secret

    if not service.url:
        raise ConfigError(
            "service.url is not set",
            hint="set service.url in genoflow.yaml, GENOFLOW_SERVICE__URL, or -u",
        )
    register_secret(service.api_key)
    root = service.url.rstrip("/")
    if service.protocol is Protocol.msgenomics:
        from genoflow.protocols.msgenomics import wire as ms_wire
        from genoflow.protocols.msgenomics.client import MsGenomicsClient

        headers = {"Content-Type": "application/json", "User-Agent": ms_wire.USER_AGENT}
        if service.api_key:
            headers[ms_wire.KEY_HEADER] = service.api_key
        # The old API gateway answered 403 while the service was down: retried like a 503.
        http = HttpClient(
            root + ms_wire.API_PATH,
            headers,
            service.timeout,
            service.retry,
            extra_retry_statuses=frozenset({403}),
            sleep=sleep,
            clock=clock,
        )
        if session is not None:
            http.session = session
        return MsGenomicsClient(http)
    from genoflow.protocols.wes import wire as wes_wire
    from genoflow.protocols.wes.client import WesClient

    headers = {"Accept": "application/json", "User-Agent": "genoflow"}
    if service.api_key:
        headers["Authorization"] = f"Bearer {service.api_key}"
    base = root if root.endswith(wes_wire.API_PATH) else root + wes_wire.API_PATH
    http = HttpClient(base, headers, service.timeout, service.retry, sleep=sleep, clock=clock)
    if session is not None:
        http.session = session
    return WesClient(
        http, workflow_engine=service.workflow_engine, cancel_grace=service.cancel_wait
    )


__all__ = ["ServiceClient", "open_client"]
