"""The one HTTP layer: a requests session, timeouts, and the retry policy (tenacity).

Transient faults (connection errors, timeouts, 429, 502, 503, 504, and for the old gateway 403)
are retried with exponential backoff and full jitter, honouring Retry-After, within a budget of
attempts and total seconds. A request that must not be repeated (a submit) is retried only when
the fault proves the server never processed it (connect failure, 429, the gateway's 403).
Sleep and clock are injectable: tests never sleep.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception
from urllib3.exceptions import NewConnectionError

from genoflow.backoff import retry_after_seconds
from genoflow.config.schema import RetryConfig
from genoflow.errors import AuthError, ExitCode, GenoflowError, NotFoundError, ServiceError
from genoflow.errors import UnavailableError as _Unavailable
from genoflow.redact import redact

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that prove the request was not processed: safe to repeat even a submit.
NOT_PROCESSED_STATUSES = frozenset({429})
MAX_ERROR_TEXT = 300


class BadRequestError(ServiceError):
    """The service refused the request as invalid (400): fix the input, do not retry."""

    exit_code = ExitCode.USAGE


class UnavailableError(_Unavailable):
    """Unreachable or failing after retries; ``maybe_processed`` says whether a request that was
    sent may nevertheless have been carried out (the answer got lost)."""

    def __init__(self, message: str, *, maybe_processed: bool = False, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.maybe_processed = maybe_processed


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

    def request(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send one request with retries; return a 2xx response or raise a GenoflowError."""
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/") if path else self.base_url
        started = self.clock()
        retrying = Retrying(
            sleep=self.sleep,
            stop=lambda state: self._give_up(state, started),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._retryable(exc, idempotent)),
            before_sleep=lambda state: log.info(
                "retrying %s %s after %s", method, redact(url), _describe(state)
            ),
            reraise=True,
        )
        try:
            response: requests.Response = retrying(self._send, method, url, kwargs)
        except _Transient as exc:
            retried = retrying.statistics.get("attempt_number", 1) > 1
            raise self._error(exc.response, method, retried=retried) from None
        except requests.RequestException as exc:
            raise UnavailableError(
                f"cannot reach the service at {redact(self.base_url)}: {_short(exc)}",
                maybe_processed=not never_sent(exc),
                hint="check service.url and the network; retried within service.retry",
            ) from None
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return json_of(self.request("GET", path, **kwargs))

    # --- policy ---------------------------------------------------------------------------
    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.session.request(
            method, url, headers=headers, timeout=self.timeout, **kwargs
        )
        if response.status_code in RETRY_STATUSES | self.extra_retry_statuses:
            raise _Transient(response)
        if response.status_code >= 400:
            raise self._error(response, method)
        return response

    def _retryable(self, exc: BaseException, idempotent: bool) -> bool:
        if isinstance(exc, _Transient):
            return idempotent or exc.response.status_code in (
                NOT_PROCESSED_STATUSES | self.extra_retry_statuses
            )
        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            return idempotent or never_sent(exc)
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = min(
            self.retry.max_delay, self.retry.initial_delay * 2 ** (state.attempt_number - 1)
        )
        delay = self.jitter(0, backoff)
        if isinstance(exc, _Transient):
            after = retry_after_seconds(exc.response.headers.get("Retry-After"))
            if after is not None:
                delay = after
        return max(0.0, delay)

    def _give_up(self, state: RetryCallState, started: float) -> bool:
        if state.attempt_number >= self.retry.attempts:
            return True
        # Stop when the next wait would overrun the total budget: say so now, not later.
        return self.clock() - started + state.upcoming_sleep > self.retry.total_seconds

    def _error(
        self, response: requests.Response, method: str, *, retried: bool = False
    ) -> GenoflowError:
        status = response.status_code
        text = error_text(response)
        what = f"{method} {redact(response.url.split('?')[0])} answered {status}: {text}"
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
        if status in RETRY_STATUSES | {500}:
            # "(after retries)" only when it was asked again: a submit's 500 is never repeated
            return UnavailableError(
                what + (" (after retries)" if retried else ""),
                maybe_processed=status not in NOT_PROCESSED_STATUSES,
            )
        return ServiceError(what, status=status)


def never_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the server: the connection was never made
    (connect timeout, refused, name not resolved). A reset or read timeout is ambiguous."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    cause: object = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, NewConnectionError)  # includes name resolution failures


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
    line = " ".join(redact(text or "").split())
    return line if len(line) <= MAX_ERROR_TEXT else line[: MAX_ERROR_TEXT - 3] + "..."


def _short(exc: BaseException) -> str:
    return _snippet(f"{type(exc).__name__}: {exc}")


def _describe(state: RetryCallState) -> str:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _Transient):
        return f"HTTP {exc.response.status_code}"
    return _short(exc) if exc else "an error"
