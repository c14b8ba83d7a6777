"""A fabricated jobs API on loopback: it answers like Celerity, with whatever results a test wants it to report.

The runner cannot tell it from the real thing, so a test can feed it wrong sums, lost or duplicated items and
check that the verdict fails, without a platform behind it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loadtests.scenarios import expected_sum

# (items, job number) -> (done, failed, reported sum, reported count, status)
Outcome = Callable[[int, int], tuple[int, int, int, int, str]]


def honest(items: int, _: int) -> tuple[int, int, int, int, str]:
    return items, 0, expected_sum(items), items, "succeeded"


TOKEN = "fake-token"
RUNNING_POLLS = 1  # a job is seen running this many times, then finished


class FakeApi:
    def __init__(self, outcome: Outcome = honest) -> None:
        self.outcome, self.token = outcome, TOKEN
        self.jobs: dict[str, dict[str, Any]] = {}
        self.cancelled: list[str] = []
        self.lock = threading.Lock()

    def body(self, job_id: str) -> dict[str, Any]:
        job = self.jobs[job_id]
        created = job["created"]
        job["polls"] += 1
        if job["polls"] <= RUNNING_POLLS:
            progress = {"done": 0, "failed": 0, "total": job["items"]}
            return {
                "id": job_id,
                "status": "running",
                "progress": progress,
                "result": None,
                "created_at": created.isoformat(),
                "started_at": None,
                "finished_at": None,
            }
        done, failed, total, count, status = self.outcome(job["items"], job["number"])
        return {
            "id": job_id,
            "status": status,
            "progress": {"done": done, "failed": failed, "total": job["items"]},
            "result": {"sum": total, "count": count},
            "created_at": created.isoformat(),
            "started_at": (created + timedelta(milliseconds=5)).isoformat(),
            "finished_at": (created + timedelta(milliseconds=250)).isoformat(),
        }


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {api.token}":
                return True
            self._send(401, {"error": "unauthorized", "message": "", "fields": {}})
            return False

        def do_GET(self) -> None:
            if self.path == "/readyz":
                self._send(200, {"status": "ready"})
            elif self._authorized():
                job_id = self.path.rsplit("/", 1)[-1]
                with api.lock:
                    known = job_id in api.jobs
                    body = api.body(job_id) if known else {"error": "not_found"}
                self._send(200 if known else 404, body)

        def do_POST(self) -> None:
            if not self._authorized():
                return
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path.endswith("/cancel"):
                job_id = self.path.split("/")[-2]
                api.cancelled.append(job_id)
                with api.lock:
                    body = {**api.body(job_id), "status": "cancelled"}
                self._send(202, body)
                return
            job_id = str(uuid.uuid4())
            with api.lock:
                api.jobs[job_id] = {
                    "items": payload["items"],
                    "number": len(api.jobs),
                    "polls": 0,
                    "created": datetime.now(UTC),
                    "payload": payload,
                }
            self._send(202, {"id": job_id, "status": "pending", "url": f"/api/jobs/{job_id}"})

    return Handler


@contextlib.contextmanager
def serving(api: FakeApi) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
