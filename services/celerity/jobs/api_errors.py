"""Every error answer of the jobs API, in one shape and from one table: `{"error", "message", "fields"}` (`ErrorOut`),
JSON, with the status, the error's name and the headers a client needs (`WWW-Authenticate`, `Retry-After`).

`install` gives the ninja API its exception handlers (what each failure answers); `JsonErrorsMiddleware`
(`middleware.py`) answers what Django produces before any view runs (a 404 for an unknown path, a 405) through
`error_response` too, so a client parses one shape whatever failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from celerity.jobs.errors import JobInputError, JobNotFoundError, JobStateError, broker_failure

CONTENT_TYPE = "application/json; charset=utf-8"  # what ninja renders, so every error answer carries the same
NAMES = {404: "not_found", 405: "method_not_allowed"}  # the errors Django answers before a view runs
RETRY_AFTER_SECONDS = 5
log = logging.getLogger("celerity.jobs.api")


def error_response(
    status: int,
    error: str,
    message: str,
    fields: Mapping[str, str] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    body = {"error": error, "message": message, "fields": dict(fields or {})}
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE, headers=headers)


def unavailable(what: str, message: str) -> HttpResponse:
    """A 503 the client may retry: the database or the broker is away or busy."""
    return error_response(
        503, "unavailable", message, {what: "unavailable"}, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def install(api: NinjaAPI) -> None:
    """Give the API its exception handlers (`HANDLERS`): every failure answers in the one shape, never with a stack
    trace."""
    for exc_class, handler in HANDLERS:
        api.exception_handler(exc_class)(handler)


def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for problem in exc.errors:
        loc = [str(part) for part in problem.get("loc", ()) if part not in ("body", "payload", "path", "query")]
        name = ".".join(loc) or "body"
        fields.setdefault(name, str(problem.get("msg", "invalid")))
    return error_response(422, "invalid_request", f"invalid fields: {', '.join(fields)}", fields)


def _unparseable(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """ninja wraps every failure to read the body in a 400 HttpError; tell a too-large body from bad JSON."""
    if isinstance(exc.__cause__, RequestDataTooBig):
        return _too_big(request, exc.__cause__)
    if exc.status_code == 400:
        return error_response(400, "invalid_json", "the request body is not valid JSON", {"body": "not valid JSON"})
    return error_response(exc.status_code, "error", str(exc.message))


def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        401,
        "unauthorized",
        "missing or wrong bearer token",
        {"Authorization": "required"},
        headers={"WWW-Authenticate": "Bearer"},
    )


def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(413, "too_large", f"request body over {limit} bytes", {"body": "too large"})


def _unacceptable(request: HttpRequest, exc: JobInputError) -> HttpResponse:
    return error_response(422, "invalid_request", f"{exc.field}: {exc.message}", {exc.field: exc.message})


def _not_found(request: HttpRequest, exc: JobNotFoundError) -> HttpResponse:
    return error_response(404, "not_found", str(exc), {"id": "not found"})


def _conflict(request: HttpRequest, exc: JobStateError) -> HttpResponse:
    return error_response(409, "conflict", str(exc), {"status": str(exc)})


def _database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Postgres is restarting, unreachable, or the request hit the web's statement/lock timeout: a 503 the client
    can retry, never a 500 or a request held open (docs/reliability.md)."""
    log.warning("%s %s: database unavailable: %s", request.method, request.path, exc)
    return unavailable("database", "the database is unavailable or busy; retry shortly")


def _internal(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The broker away (a 503), or a bug: still the documented JSON shape, and the traceback in the log."""
    if broker_failure(exc):
        log.warning("%s %s: broker unavailable: %s", request.method, request.path, exc)
        return unavailable("broker", "the broker is unavailable; retry shortly")
    log.exception("%s %s failed", request.method, request.path)
    return error_response(500, "internal", "internal error; the server log has the details")


# What each failure answers; ninja picks the handler of the exception's nearest class (`Exception`: the last resort).
HANDLERS: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
    (ValidationError, _invalid),
    (HttpError, _unparseable),
    (AuthenticationError, _unauthorized),
    (RequestDataTooBig, _too_big),
    (JobInputError, _unacceptable),
    (JobNotFoundError, _not_found),
    (JobStateError, _conflict),
    (OperationalError, _database_unavailable),
    (InterfaceError, _database_unavailable),
    (Exception, _internal),
]
