"""Request metrics for the web service, labelled by URL pattern (never the raw path: cardinality)."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from celerity.observability.metrics import HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        labels = {"method": request.method or "", "route": route, "status": str(response.status_code)}
        HTTP_REQUEST_DURATION_SECONDS.labels(**labels).observe(time.perf_counter() - started)
        HTTP_REQUESTS_TOTAL.labels(**labels).inc()
        return response
