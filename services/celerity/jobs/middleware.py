"""Every answer under /api/ that is an error is JSON in the API's shape, including the ones Django or ninja produce
before any view runs (405 for a method the path does not take, 404 for a path that does not exist)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

NAMES = {404: "not_found", 405: "method_not_allowed"}


class JsonErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400 or _is_json(response):
            return response
        status = response.status_code
        message = f"{request.method} is not allowed here" if status == 405 else response.reason_phrase.lower()
        answer = JsonResponse({"error": NAMES.get(status, "error"), "message": message, "fields": {}}, status=status)
        for header in ("Allow", "WWW-Authenticate", "Retry-After"):
            if header in response:
                answer[header] = response[header]
        return answer


def _is_json(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        json.loads(response.content or b"null")
    except ValueError:
        return False
    return True
