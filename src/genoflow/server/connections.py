"""HTTP connections with a deadline for the request itself (headers and body).

uvicorn closes idle keep-alive connections, but a connection that sends half its headers, or
declares a body and then stalls, is held for ever: a few hundred of them exhaust the server
(slowloris). Each request here must arrive whole within ``request_timeout`` seconds of its
first byte (or of the connection, for one that sends nothing); otherwise the connection is
closed. The deadline stops once the body is complete: the time the server takes to answer is
not the client's to spend.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a per-request arrival deadline."""

    def __init__(self, *args: Any, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timeout = request_timeout
        self._request_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._request_deadline is None and self._between_requests():
            self._arm()  # the first byte of a new request on a kept-alive connection
        super().data_received(data)
        if self._body_complete():
            self._disarm()

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _body_complete(self) -> bool:
        return (
            self.cycle is not None
            and not self.cycle.response_complete
            and not (self.cycle.more_body)
        )

    def _arm(self) -> None:
        self._disarm()
        self._request_deadline = self.loop.call_later(self._request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._request_deadline is not None:
            self._request_deadline.cancel()
            self._request_deadline = None

    def _expire(self) -> None:
        self._request_deadline = None
        if self._body_complete() or self.transport.is_closing():
            return
        log.info(
            "closing a connection from %s: request not received within %ss",
            f"{self.client[0]}:{self.client[1]}" if self.client else "?",
            self._request_timeout,
        )
        self.transport.close()


def protocol_with_deadline(request_timeout: float) -> Any:
    """The ``http=`` argument for ``uvicorn.Config``."""
    return functools.partial(DeadlineH11Protocol, request_timeout=request_timeout)
