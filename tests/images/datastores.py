"""Redis and Postgres for the containers, on the host's 127.0.0.1 (the containers share the host's network).

Redis is an embedded server of its own, so no worker of the test session takes the containers' tasks. Postgres is the
session's server with a database of its own; the embedded one listens only on a unix socket in a directory a
container's UID 10001 cannot enter, so a small TCP forwarder on 127.0.0.1 (run by this process) carries it."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from devstack import servers

DATABASE = "celerity_images"


class _Forward(socketserver.BaseRequestHandler):
    target: str  # the unix socket

    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
            upstream.connect(self.target)
            pumps = [
                threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
                threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
            ]
            for pump in pumps:
                pump.start()
            for pump in pumps:
                pump.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)  # the other direction may still be talking


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def tcp_forwarder(unix_socket: Path) -> Iterator[int]:
    """127.0.0.1:<port> -> unix_socket, for as long as the context lasts; yields the port."""
    handler = type("Forward", (_Forward,), {"target": str(unix_socket)})
    with _Server(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        thread.start()
        try:
            yield int(server.server_address[1])
        finally:
            server.shutdown()
            thread.join(10)


@contextlib.contextmanager
def postgres_over_tcp(session_url: str) -> Iterator[str]:
    """A TCP URL of a fresh database on the session's Postgres (recreated)."""
    servers.ensure_database(session_url, DATABASE, recreate=True)
    parts = urllib.parse.urlsplit(session_url)
    socket_dir = (urllib.parse.parse_qs(parts.query).get("host") or [""])[0]
    if not socket_dir.startswith("/"):  # already TCP: the containers reach it as the host does
        yield servers.with_database(session_url, DATABASE)
        return
    (unix_socket,) = [p for p in Path(socket_dir).glob(".s.PGSQL.*") if p.is_socket()]
    user = urllib.parse.unquote(parts.username or "postgres")
    with tcp_forwarder(unix_socket) as port:
        yield f"postgres://{urllib.parse.quote(user)}@127.0.0.1:{port}/{DATABASE}"


@contextlib.contextmanager
def host_datastores(workdir: Path) -> Iterator[dict[str, str]]:
    """The values of the chart's Secret keys that must point at the host: broker, results and database."""
    redis_server = servers.start_redis(workdir / "redis", persistent=False)
    try:
        with postgres_over_tcp(os.environ["DATABASE_URL"]) as database_url:
            base = f"redis://127.0.0.1:{redis_server.port}"
            yield {"redis-url": f"{base}/0", "redis-result-url": f"{base}/1", "database-url": database_url}
    finally:
        redis_server.stop()
