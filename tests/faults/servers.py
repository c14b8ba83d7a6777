"""The fault suite's own Redis and Postgres, which its tests stop, restart and kill without disturbing the session's
servers (the other test areas keep theirs)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack import servers


@dataclass
class Redis:
    """redis-server as a broker should run: AOF on, every write fsynced, no eviction; restartable on its port."""

    datadir: Path
    port: int = field(default_factory=servers.free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        log = self.datadir / "redis.log"
        argv = [
            str(servers.redis_server_binary()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.datadir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            str(log),
        ]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        servers._wait_for_tcp(self.port, self.process, what="fault-suite redis-server", log=log)

    def stop(self) -> None:
        """SIGTERM, as Kubernetes stops a pod: Redis flushes its AOF and exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, *, down: float = 0.5) -> None:
        self.stop()
        time.sleep(down)
        self.start()


@dataclass
class Postgres:
    """The pgserver Postgres in a data directory of its own, restarted with `pg_ctl restart -m fast`."""

    datadir: Path
    server: servers.PostgresServer | None = None
    options: str = ""  # the server's command-line options, kept by `pause` for `resume`

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def start(self) -> None:
        self.server = servers.start_postgres(self.datadir, database="faults")

    def pg_ctl(self, *args: str) -> None:
        # The server pg_ctl starts keeps its stdout: send it to a log file, or it holds our pipe open forever.
        log = self.datadir / "restart.log"
        argv = [str(servers._pg_bin() / "pg_ctl"), "-D", str(self.datadir), "-l", str(log), "-w", "-t", "60", *args]
        user = servers._pg_system_user()
        if user:
            argv = ["su", user, "-s", "/bin/sh", "-c", " ".join(shlex.quote(arg) for arg in argv)]
        subprocess.run(
            argv,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=90,
            env={**os.environ, "LC_ALL": "C"},
        )

    def restart(self) -> None:
        """Fast shutdown (every session terminated: 57P01), then start again with the same options."""
        self.pg_ctl("-m", "fast", "restart")

    def pause(self) -> None:
        """Fast shutdown, and stay down until `resume`: every connection is refused meanwhile."""
        self.options = (self.datadir / "postmaster.opts").read_text().split(maxsplit=1)[1].strip()
        self.pg_ctl("-m", "fast", "stop")

    def resume(self) -> None:
        """Start again with the options it ran with (`restart` reads them itself; `start` must be told)."""
        self.pg_ctl("-o", self.options, "start")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
