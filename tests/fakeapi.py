"""A fabricated Celerity jobs API on loopback, for the tests of the tools that talk to the API over HTTP: it answers
with Celerity's shapes (`POST /api/jobs`, `GET /api/jobs/{id}`, `POST /api/jobs/{id}/cancel`, `/healthz`, `/readyz`,
a JSON 401 for a wrong token) and reports whatever outcome a test wants, so a test can feed a tool wrong sums, lost
or duplicated items and check that the tool notices, without a platform behind it.

Two ways to run it, one server:
- in the test's process (`serving(FakeApi(...))`), for the load-test runner;
- as a process of its own, `python tests/fakeapi.py PORT STATE_DIR TOKEN`, for the kind scripts (the fake `kubectl
  port-forward` of tests/scripts/fakes.py execs it). With a state directory it leaves traces there for the test and
  the fake kubectl to read: `submitted` once a job came, `jobs.jsonl` (every payload), `done` once every job was seen
  finished; a file `fail-<workload>` makes that workload's jobs fail.

Standard library only, so it runs as a script without the repository on the path.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# (items, job number) -> (done, failed, reported sum, reported count, status)
Outcome = Callable[[int, int], tuple[int, int, int, int, str]]

TOKEN = "fake-token"
RUNNING_POLLS = 1  # a job is seen running this many times, then finished


def squares(items: int) -> int:
    """Σ i² for i in 0..items-1, what every demo workload answers (computed here, not imported from the tools)."""
    return (items - 1) * items * (2 * items - 1) // 6


def honest(items: int, _: int) -> tuple[int, int, int, int, str]:
    return items, 0, squares(items), items, "succeeded"


class FakeApi:
    def __init__(
        self,
        outcome: Outcome = honest,
        *,
        token: str = TOKEN,
        running_polls: int = RUNNING_POLLS,
        state: Path | None = None,
    ) -> None:
        self.outcome, self.token, self.running_polls, self.state = outcome, token, running_polls, state
        self.jobs: dict[str, dict[str, Any]] = {}
        self.cancelled: list[str] = []
        self.lock = threading.Lock()
        self.hold = 0.0  # > 0: a GET with `?wait=` is answered this many seconds late, as an API that holds it would
        self.waits: list[str] = []  # the `wait` of every GET that had one (an API without `wait` ignores it)

    def submit(self, payload: dict[str, Any]) -> str:
        job_id = str(uuid.uuid4())
        with self.lock:
            self.jobs[job_id] = {"number": len(self.jobs), "polls": 0, "created": datetime.now(UTC), "payload": payload}
        if self.state is not None:
            (self.state / "submitted").touch()
            with open(self.state / "jobs.jsonl", "a") as jobs:
                jobs.write(json.dumps(payload) + "\n")
        return job_id

    def poll(self, job_id: str) -> dict[str, Any] | None:
        """The job as `GET /api/jobs/{id}` answers it (None: no such job)."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            job["polls"] += 1
            body = self._body(job_id, job)
            finished = all(j["polls"] > self.running_polls for j in self.jobs.values())
        if finished and self.state is not None:
            (self.state / "done").touch()
        return body

    def _body(self, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
        payload, created = job["payload"], job["created"]
        items = payload["items"]
        count = items if isinstance(items, int) else len(items)
        body: dict[str, Any] = {
            "id": job_id,
            "workload": payload.get("workload", "chunked"),
            "status": "running",
            "progress": {"done": 0, "failed": 0, "total": count},
            "result": None,
            "created_at": created.isoformat(),
            "started_at": None,
            "finished_at": None,
        }
        if job["polls"] <= self.running_polls:
            return body
        body["started_at"] = (created + timedelta(milliseconds=5)).isoformat()
        body["finished_at"] = (created + timedelta(milliseconds=250)).isoformat()
        if payload.get("type") == "wordcount":  # the examples' job type: words counted by a reduce
            words = sum(len(item["text"].split()) for item in items)
            result = {"reduce": {"words": words}, "count": count, "failed": 0}
            return {**body, "status": "succeeded", "progress": {**body["progress"], "done": count}, "result": result}
        if self.state is not None and (self.state / f"fail-{body['workload']}").exists():  # a test asks it to fail
            return {**body, "status": "failed", "result": {"sum": 0, "count": 0}}
        done, failed, total, reported, status = self.outcome(count, job["number"])
        progress = {"done": done, "failed": failed, "total": count}
        return {**body, "status": status, "progress": progress, "result": {"sum": total, "count": reported}}


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
            self._send(401, {"error": "unauthorized", "message": "missing or wrong bearer token", "fields": {}})
            return False

        def do_GET(self) -> None:
            if self.path in ("/healthz", "/readyz"):
                self._send(200, {"status": "ready"})
            elif self._authorized():
                url = urllib.parse.urlsplit(self.path)
                if wait := urllib.parse.parse_qs(url.query).get("wait"):
                    api.waits.append(wait[0])
                    time.sleep(api.hold)
                body = api.poll(url.path.rsplit("/", 1)[-1])
                if body is None:
                    self._send(404, {"error": "not_found", "message": "no such job", "fields": {"id": "not found"}})
                else:
                    self._send(200, body)

        def do_POST(self) -> None:
            if not self._authorized():
                return
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path.endswith("/cancel"):
                job_id = self.path.split("/")[-2]
                api.cancelled.append(job_id)
                body = api.poll(job_id)  # answered with the job, as the real API does
                self._send(202, {**(body or {"id": job_id}), "status": "cancelled"})
                return
            job_id = api.submit(payload)
            self._send(202, {"id": job_id, "status": "pending", "url": f"/api/jobs/{job_id}"})

    return Handler


@contextlib.contextmanager
def serving(api: FakeApi) -> Iterator[str]:
    """The API on a free loopback port, in a thread of this process; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: list[str]) -> None:
    """`PORT STATE_DIR TOKEN`: serve on that loopback port until killed (the kind smoke test's jobs API: each job seen
    running twice, then finished)."""
    port, state, token = int(argv[0]), Path(argv[1]), argv[2]
    api = FakeApi(token=token, running_polls=2, state=state)
    ThreadingHTTPServer(("127.0.0.1", port), _handler(api)).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
