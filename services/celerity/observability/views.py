"""Liveness, readiness and the Prometheus endpoint of the web service."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST

from celerity.observability import exposition


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Never checks dependencies (a Redis blip must not restart pods)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 only when Postgres and the broker both answer."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(exposition.render(), content_type=CONTENT_TYPE_LATEST)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means "not ready"; the reason is in the database's own logs
        return False


def _broker_ok() -> bool:
    from celerity.observability.broker import broker_ping

    return broker_ping()
