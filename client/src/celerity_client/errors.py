"""What can go wrong, as types: the API's own JSON error (`{"error", "message", "fields"}`, docs/api.md) becomes an
`ApiError` subclass chosen by the HTTP status; the client's own refusals and a server out of reach have theirs.

Every message is one line, so the command can print `str(error)` as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celerity_client.models import Job


class CelerityError(Exception):
    """Anything this package raises on purpose."""


class ApiError(CelerityError):
    """The API answered with an error: `status` (HTTP), `error` (its code: `invalid_request`, `not_found`, ...),
    `message`, and `fields` (each offending field and why)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        fields: Mapping[str, str] | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status, self.error, self.message = status, error, message
        self.fields: dict[str, str] = dict(fields or {})
        self.retry_after = retry_after
        self.attempt = 1  # the try that got this answer (the transport says, when it retried)
        super().__init__(self._line())

    def _line(self) -> str:
        text = f"{self.status} {self.error}: {self.message}"
        named = [
            f"{name}: {why}"
            for name, why in self.fields.items()
            if name not in self.message and why not in self.message
        ]
        return " ".join([text, *([f"({'; '.join(named)})"] if named else [])]).replace("\n", " ")


class BadRequest(ApiError):
    """400: the body could not be read (not JSON)."""


class Unauthorized(ApiError):
    """401: no token, or a wrong one."""


class Forbidden(ApiError):
    """403: the token may not do this."""


class NotFound(ApiError):
    """404: no such job (or none this token may see), or a path this server does not have."""


class Conflict(ApiError):
    """409: the job is not in a state that allows this (cancelling a finished job, retrying one that did not fail)."""


class TooLarge(ApiError):
    """413: the body is over the server's limit."""


class UnsupportedMediaType(ApiError):
    """415."""


class InvalidRequest(ApiError):
    """422: `fields` names what was refused (`items.3.text`, `chunk_size`, ...); nothing was created."""


class RateLimited(ApiError):
    """429: too many requests; retried, after `retry_after` seconds if the server said."""


class Unavailable(ApiError):
    """503: the database or the broker is away for a moment; retried, after `retry_after` seconds if the server
    said."""


class ServerError(ApiError):
    """Any other 5xx."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    415: UnsupportedMediaType,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def api_error(status: int, body: Any, text: str, *, retry_after: float | None = None) -> ApiError:
    """The typed error for an answer: the API's JSON error when the body is one, else the status and the start of
    whatever came back (a proxy's HTML page, say)."""
    kind = BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        fields = body.get("fields")
        named = {str(k): str(v) for k, v in fields.items()} if isinstance(fields, Mapping) else {}
        return kind(status, body["error"], str(body.get("message", "")), named, retry_after=retry_after)
    snippet = " ".join(text.split())[:200] or "no body"
    return kind(status, f"http_{status}", snippet, retry_after=retry_after)


class UnexpectedAnswer(CelerityError):
    """The server answered with something that is not the jobs API's (not JSON, or a shape without the fields every
    version has): a URL that points elsewhere, a proxy's page, an incompatible server."""


class ConnectionFailed(CelerityError):
    """The API could not be reached, or the connection broke, and retrying did not help."""


class InvalidItem(CelerityError, ValueError):
    """An item the client cannot send (not JSON: NaN, a set, ...), or a line of an input file that is not JSON.
    `index` is the item's position, as the API would name it (`items.<index>`)."""

    def __init__(self, index: int, message: str) -> None:
        self.index, self.message = index, message
        super().__init__(f"items.{index}: {message}")


class WaitTimeout(CelerityError, TimeoutError):
    """The job did not finish within the time given; `job` is how it was last seen (it keeps running)."""

    def __init__(self, job: Job, seconds: float) -> None:
        self.job, self.seconds = job, seconds
        super().__init__(f"job {job.id} still {job.status} after {seconds:g} s")


class ConfigError(CelerityError):
    """No API to talk to, or a profile that does not exist or cannot be read."""
