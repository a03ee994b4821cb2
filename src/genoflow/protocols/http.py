"""The one HTTP layer: a requests session, timeouts, and the retry policy of genoflow.backoff.

Retries only where another try can help: timeouts, resets, 408/429/5xx (and the old gateway's
403) back off with equal jitter within ``service.retry``, honouring Retry-After. A refused
connection or an unknown host name gets one quick retry (a server restarting), then one line
naming the URL: nobody waits half a minute to learn the URL is wrong. A request that must not be
repeated (a submit) is retried only when the fault proves the server never processed it
(connection not made, 429, the gateway's 403). Sleep and clock are injectable: tests never sleep.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from genoflow.backoff import (
    QUICK_RETRY_SECONDS,
    TRANSIENT_STATUSES,
    Clock,
    Retrier,
    retry_after_seconds,
    unreachable,
)
from genoflow.config.schema import RetryConfig
from genoflow.errors import AuthError, ExitCode, GenoflowError, NotFoundError, ServiceError
from genoflow.errors import UnavailableError as _Unavailable
from genoflow.redact import redact

log = logging.getLogger(__name__)

RETRY_STATUSES = TRANSIENT_STATUSES
# Statuses that prove the request was not processed: safe to repeat even a submit.
NOT_PROCESSED_STATUSES = frozenset({429})
MAX_ERROR_TEXT = 300
# A retry waiting this long or longer is announced as a warning (shown without -v).
LOUD_DELAY_SECONDS = 5.0


class BadRequestError(ServiceError):
    """The service refused the request as invalid (400): fix the input, do not retry."""

    exit_code = ExitCode.USAGE


class UnavailableError(_Unavailable):
    """Unreachable or failing after retries; ``maybe_processed`` says whether a request that was
    sent may nevertheless have been carried out (the answer got lost); ``refused``: the
    connection was refused or the host unknown (a wrong URL or a stopped service)."""

    def __init__(
        self,
        message: str,
        *,
        maybe_processed: bool = False,
        hint: str | None = None,
        refused: bool = False,
    ):
        super().__init__(message, hint=hint)
        self.maybe_processed = maybe_processed
        self.refused = refused


class _Transient(Exception):
    """An answer worth retrying; carries the response (for Retry-After and the final error)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class HttpClient:
    """Requests under ``base_url`` with fixed headers, timeouts and the retry policy."""

    base_url: str
    headers: Mapping[str, str]
    timeout: float
    retry: RetryConfig
    extra_retry_statuses: frozenset[int] = frozenset()
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    session: requests.Session = field(default_factory=requests.Session)
    jitter: Callable[[float, float], float] = random.uniform
    reached: bool = False  # an answer came once: a refused connection is then a restart

    def request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send one request with retries; return a 2xx response or raise a GenoflowError."""
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/") if path else self.base_url
        retrier = Retrier(self.retry, Clock(self.clock, self.sleep), self.jitter)
        quick_retried = False
        while True:
            try:
                return self._send(method, url, kwargs)
            except _Transient as exc:
                response = exc.response
                after = retry_after_seconds(response.headers.get("Retry-After"))
                repeat = self._may_repeat(response.status_code, idempotent)
                delay = retrier.next_delay(after) if repeat else None
                if delay is None:
                    raise self._error(response, method, retried=retrier.tries > 1) from None
                _note(method, url, f"HTTP {response.status_code}", delay, retrier)
                retrier.wait(delay)
            except requests.RequestException as exc:
                hopeless_now = hopeless(exc) and not self.reached
                if hopeless_now and quick_retried:
                    raise self._unreachable(exc) from None
                if hopeless_now:
                    quick_retried = True
                    self.sleep(QUICK_RETRY_SECONDS)
                    continue
                repeat = idempotent or never_sent(exc)
                delay = retrier.next_delay() if repeat else None
                if delay is None:
                    raise self._unreachable(exc) from None
                _note(method, url, reason(exc, self.timeout), delay, retrier)
                retrier.wait(delay)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return json_of(self.request("GET", path, **kwargs))

    # --- policy ---------------------------------------------------------------------------
    def _send(self, method: str, url: str, kwargs: Mapping[str, Any]) -> requests.Response:
        extra = dict(kwargs)  # a retry sends the same headers again: nothing popped from kwargs
        headers = {**self.headers, **extra.pop("headers", {})}
        response = self.session.request(method, url, headers=headers, timeout=self.timeout, **extra)
        self.reached = True
        if response.status_code in RETRY_STATUSES | self.extra_retry_statuses:
            raise _Transient(response)
        if response.status_code >= 400:
            raise self._error(response, method)
        return response

    def _may_repeat(self, status: int, idempotent: bool) -> bool:
        return idempotent or status in NOT_PROCESSED_STATUSES | self.extra_retry_statuses

    def _unreachable(self, exc: requests.RequestException) -> UnavailableError:
        hint = (
            "check service.url (GENOFLOW_SERVICE__URL, -u) and that the service is running"
            if hopeless(exc)
            else "check service.url and the network; retried within service.retry"
        )
        return UnavailableError(
            f"cannot reach the service at {redact(origin(self.base_url))}: "
            f"{reason(exc, self.timeout)}",
            maybe_processed=not never_sent(exc),
            hint=hint,
            refused=hopeless(exc),
        )

    def _error(
        self, response: requests.Response, method: str, *, retried: bool = False
    ) -> GenoflowError:
        status = response.status_code
        text = error_text(response)
        what = f"{method} {redact(public_url(response.url))} answered {status}: {text}"
        if status == 400:
            return BadRequestError(what, status=status)
        if status == 401 or (status == 403 and 403 not in self.extra_retry_statuses):
            return AuthError(what, hint="check service.api_key (-k/--access-key)")
        if status == 403:
            return AuthError(
                what,
                hint="the key was refused, or the service was down and "
                "kept answering 403 through the retries",
            )
        if status == 404:
            return NotFoundError(what, status=status)
        if status in RETRY_STATUSES:
            # "(after retries)" only when it was asked again: a submit's 500 is never repeated
            return UnavailableError(
                what + (" (after retries)" if retried else ""),
                maybe_processed=status not in NOT_PROCESSED_STATUSES,
            )
        return ServiceError(what, status=status)


def _note(method: str, url: str, fault: str, delay: float, retrier: Retrier) -> None:
    """Say a retry is coming; a long wait is a warning, so an outage is never silent."""
    level = logging.WARNING if delay >= LOUD_DELAY_SECONDS else logging.INFO
    log.log(
        level,
        "%s %s: %s; try %d of %d in %.1f s",
        method,
        redact(public_url(url)),
        fault,
        retrier.tries + 1,
        retrier.settings.attempts,
        delay,
    )


def _connect_error(exc: BaseException) -> NewConnectionError | None:
    """The socket error behind a failed connect (``NewConnectionError``), if that is what it was."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ConnectTimeout):
        return None
    cause: object = exc.args[0] if exc.args else None
    reason_ = getattr(cause, "reason", cause)
    return reason_ if isinstance(reason_, NewConnectionError) else None


def never_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the server: the connection was never made
    (connect timeout, refused, name not resolved). A reset or read timeout is ambiguous."""
    return isinstance(exc, requests.ConnectTimeout) or _connect_error(exc) is not None


def hopeless(exc: BaseException) -> bool:
    """A fault backing off will not cure: the port is closed or the host name unknown."""
    return never_sent(exc) and unreachable(exc)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: never its ``user:password@`` nor its path."""
    where = urlsplit(url)
    host = where.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = where.port
    except ValueError:
        port = None
    return f"{where.scheme}://{host}" + (f":{port}" if port is not None else "")


def public_url(url: str) -> str:
    """``url`` without its ``user:password@`` and its query string (for messages)."""
    return origin(url) + urlsplit(url).path


def reason(exc: BaseException, timeout: float) -> str:
    """What went wrong, in a few words (never urllib3's pool and retry wording)."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed (is it https on an http port, or a certificate problem?)"
    failed = _connect_error(exc)
    if isinstance(failed, NameResolutionError):
        return "host name not resolved"
    if failed is not None:
        cause = failed.__cause__ or failed.__context__
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        return "connection failed"
    text = str(exc)
    for marker, words in (
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "connection closed before an answer"),
        ("IncompleteRead", "answer cut short"),
    ):
        if marker in text:
            return words
    return _snippet(f"{type(exc).__name__}: {exc}")


def json_of(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ServiceError(
            f"the service answered {response.status_code} with something other "
            f"than JSON: {_snippet(response.text)}",
            status=response.status_code,
        ) from None


def error_text(response: requests.Response) -> str:
    """One line from an error body: Message/message (msgenomics), msg (WES), detail, or text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("Message", "message", "msg", "detail", "error", "error_description"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return _snippet(value)
            if value:
                return _snippet(json.dumps(value))
    return _snippet(response.text) or response.reason or "no details"


def _snippet(text: str) -> str:
    """One line of at most MAX_ERROR_TEXT characters, cut at a word boundary."""
    line = " ".join(redact(text or "").split())
    if len(line) <= MAX_ERROR_TEXT:
        return line
    cut = line[: MAX_ERROR_TEXT - 3]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "..."
