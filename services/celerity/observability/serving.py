"""The worker parent's tiny HTTP server: /metrics for Prometheus, /healthz for the kubelet's liveness probe.

A thread of the parent process, never of a pool child (children racing for one port would each serve a share).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)


class Server(ThreadingHTTPServer):
    daemon_threads = True


def serve(port: int, *, metrics: Callable[[], bytes], healthy: Callable[[], bool]) -> Server:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                try:
                    body = metrics()
                except Exception:  # a bug must cost one scrape, not the server thread; the log says which
                    log.exception("/metrics failed")
                    self._send(500, b"metrics failed, see the worker log\n", "text/plain")
                    return
                self._send(200, body, CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = healthy()
                self._send(200 if ok else 503, b"ok\n" if ok else b"broker not connected\n", "text/plain")
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # probes and scrapes every few seconds: no access log
            return

    server = Server(("0.0.0.0", port), Handler)  # noqa: S104 - scraped and probed from outside the pod
    threading.Thread(target=server.serve_forever, name="celerity-metrics", daemon=True).start()
    return server
