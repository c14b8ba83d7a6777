"""Every answer under /api/ that is an error is JSON in the API's shape, including the ones Django or ninja produce
before any view runs (405 for a method the path does not take, 404 for a path that does not exist)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from celerity.jobs.api_errors import NAMES, error_response

KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


class JsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400 or _is_json(response):
            return response
        status = response.status_code
        message = f"{request.method} is not allowed here" if status == 405 else response.reason_phrase.lower()
        headers = {header: response[header] for header in KEPT_HEADERS if header in response}
        return error_response(status, NAMES.get(status, "error"), message, headers=headers)


def _is_json(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        json.loads(response.content or b"null")
    except ValueError:
        return False
    return True
