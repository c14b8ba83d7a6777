"""A loopback HTTP proxy that loses answers: it passes each request on to the real server, waits for the server's
answer, and then, for the requests it was told to, closes the client's connection instead of passing the answer back.
The server did the work; the client never heard. That is the case an idempotency key exists for."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class LossyProxy:
    upstream: str  # host:port of the real server
    losing: dict[tuple[str, str], int] = field(default_factory=dict)  # (method, path start) -> answers still to lose
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status) of every request
    lock: threading.Lock = field(default_factory=threading.Lock)

    def lose(self, method: str, path: str, times: int = 1) -> None:
        with self.lock:
            self.losing[(method, path)] = times

    def requests(self, method: str, path: str) -> list[int]:
        """The statuses the server answered to these requests, lost or not."""
        with self.lock:
            return [status for m, p, status in self.seen if m == method and p.split("?")[0] == path]

    def _loses(self, method: str, path: str) -> bool:
        with self.lock:
            for (m, start), left in self.losing.items():
                if m == method and path.startswith(start) and left > 0:
                    self.losing[(m, start)] = left - 1
                    return True
        return False

    def serve(self, client: socket.socket) -> None:
        with client, client.makefile("rb") as reader:
            while True:
                head = reader.readline()
                if not head:
                    return
                method, path, _ = head.decode().split(" ", 2)
                headers: list[tuple[str, str]] = []
                while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, value = line.decode().split(":", 1)
                    headers.append((name.strip(), value.strip()))
                length = next((int(v) for n, v in headers if n.lower() == "content-length"), 0)
                body = reader.read(length) if length else None
                host, port = self.upstream.rsplit(":", 1)
                upstream = http.client.HTTPConnection(host, int(port), timeout=60)
                try:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        # The server may answer before it has read the whole body (an upload whose key it knows);
                        # its answer is still there to read, as urllib3 reads it.
                        upstream.request(method, path, body=body, headers=dict(headers))
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                with self.lock:
                    self.seen.append((method, path, answer.status))
                if self._loses(method, path):
                    return  # the work is done, the answer never arrives
                lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
                lines += [
                    f"{n}: {v}" for n, v in answer.getheaders() if n.lower() not in ("connection", "content-length")
                ]
                lines += [f"Content-Length: {len(data)}", "Connection: keep-alive"]
                client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)


@contextlib.contextmanager
def lossy_proxy(upstream_url: str) -> Iterator[tuple[LossyProxy, str]]:
    """The proxy in front of `upstream_url`, and its own URL."""
    proxy = LossyProxy(upstream_url.removeprefix("http://"))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # so that the accepting thread sees the stop
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            threading.Thread(target=proxy.serve, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join(5)
        listener.close()
