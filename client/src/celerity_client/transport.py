"""HTTP to the API, with the one retry rule every call shares: a 503 (the database or broker away for a moment) or a
429 (a rate limit) is asked again after the server's `Retry-After`, or after a growing, jittered backoff when it
names none; so is a request whose connection failed or broke (a few times only: nothing may be listening), since
every call is safe to repeat: reads are; a submit carries its idempotency key; `Celerity.cancel` recognises its own
earlier success, and `Celerity.retry` looks at the job before it asks again. Retrying stops after `attempts` tries
or once the waits would exceed `budget` seconds, and the last error is raised."""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import requests

from celerity_client.errors import ApiError, ConnectionFailed, UnexpectedAnswer, api_error
from celerity_client.version import __version__

RETRIED_STATUSES = (429, 503)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8  # tries per call, the first included
    connection_attempts: int = 3  # of which at most this many when the connection fails (nothing may be listening)
    budget: float = 120.0  # seconds of waiting per call, at most
    base: float = 0.5  # the first backoff, seconds; each next one doubles, up to `cap`
    cap: float = 30.0

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1, 2, ...) when the server named none: jittered, so that many
        clients turned away at once do not come back at once."""
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography

    @classmethod
    def never(cls) -> RetryPolicy:
        """One try: every error is raised at once (the load tests count them instead)."""
        return cls(attempts=1, connection_attempts=1, budget=0.0)


@dataclass(frozen=True)
class Retrying:
    """What `on_retry` hears before each wait: why, how long, and which try comes next."""

    method: str
    path: str
    reason: str  # the error's one line
    status: int | None  # None for a connection that failed
    delay: float
    attempt: int  # the try about to be made (2 for the first retry)
    attempts: int


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Transport:
    """One `requests.Session` (so not to be shared between threads), the bearer token, the retry rule."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[Retrying], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = f"celerity-client/{__version__}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: bytes | IO[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        reconnect: bool = True,
    ) -> tuple[Any, int]:
        """The decoded JSON answer and how many tries it took; an `ApiError` for any status of 400 or more.
        `reconnect=False`: a connection that fails or breaks is not tried again (the caller finds out what
        happened first)."""
        query = {name: value for name, value in (params or {}).items() if value is not None}
        rewind = data.tell() if data is not None and not isinstance(data, bytes) else None
        waited, attempt = 0.0, 1
        while True:
            if rewind is not None:
                assert data is not None
                assert not isinstance(data, bytes)
                data.seek(rewind)  # a retried upload sends its body again from the start
            try:
                response = self.session.request(
                    method,
                    self.url + path,
                    params=query,
                    data=data,
                    headers=dict(headers or {}),
                    timeout=(min(10.0, self.timeout), timeout or self.timeout),
                )
                failure: ApiError | ConnectionFailed | None = None
                if response.status_code < 400:
                    return _decoded(response), attempt
                failure = _error(response)
            except requests.RequestException as exc:
                failure = ConnectionFailed(f"cannot reach {self.url} ({method} {path}): {_reason(exc)}")
            delay = None if isinstance(failure, ConnectionFailed) and not reconnect else self._delay(failure, attempt)
            if delay is None or waited + delay > self.retry.budget:
                if isinstance(failure, ApiError):
                    failure.attempt = attempt
                raise failure
            if self.on_retry is not None:
                status = failure.status if isinstance(failure, ApiError) else None
                self.on_retry(Retrying(method, path, str(failure), status, delay, attempt + 1, self.retry.attempts))
            self.sleep(delay)
            waited, attempt = waited + delay, attempt + 1

    def _delay(self, failure: ApiError | ConnectionFailed, attempt: int) -> float | None:
        """How long to wait before trying again, or None when this failure is not retried."""
        if attempt >= self.retry.attempts:
            return None
        if isinstance(failure, ConnectionFailed) and attempt >= self.retry.connection_attempts:
            return None
        if isinstance(failure, ApiError):
            if failure.status not in RETRIED_STATUSES:
                return None
            if failure.retry_after is not None:
                return failure.retry_after
        return self.retry.backoff(attempt)

    def close(self) -> None:
        self.session.close()


def _decoded(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        snippet = " ".join(response.text.split())[:200]
        raise UnexpectedAnswer(
            f"{response.request.method} {response.url} answered {response.status_code} with what is not JSON: {snippet}"
        ) from None


def _error(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return api_error(
        response.status_code, body, response.text, retry_after=retry_after(response.headers.get("Retry-After"))
    )


def _reason(exc: requests.RequestException) -> str:
    """The innermost reason ('Connection refused'), not urllib3's nested repr of it."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    reason = ""
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            reason = cause.strerror
            break
        nested = getattr(cause, "reason", None)
        if not isinstance(nested, BaseException) and cause.args and isinstance(cause.args[0], BaseException):
            nested = cause.args[0]
        cause = nested if isinstance(nested, BaseException) else (cause.__cause__ or cause.__context__)
    reason = reason or str(exc) or type(exc).__name__
    if isinstance(exc, requests.Timeout):
        reason = f"timed out ({reason})" if "timed out" not in reason.lower() else reason
    return " ".join(reason.split())


def encoded(body: Any) -> bytes:
    """A JSON body exactly as the API's strict parser wants it: no NaN or Infinity (which it would refuse)."""
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
