"""The whole platform on one machine: servers, migrations, gunicorn and the worker pools, found by later commands.

`make run` runs it in the foreground; `make loadtest` and the end-to-end tests start it when it is not up. While it
runs, `.run/stack.env` holds the URLs and token (Django's local settings read it) and `.run/stack.json` describes the
endpoints for tools.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devstack import processes, servers, stopping
from devstack.autoscaling import LOCAL_POLICY, LocalAutoscaler
from devstack.replicas import ReplicaSet
from devstack.supervising import Launch, Probing, Restart, Supervisor, http_ok

# CELERITY_RUN_DIR moves the state (and the stack files other commands read) elsewhere, e.g. for tests.
RUN_DIR = Path(os.environ.get("CELERITY_RUN_DIR") or processes.REPO_ROOT / ".run")
FIRST_WORKER_METRICS_PORT = 9808


class StackError(RuntimeError):
    """The local stack could not start; the message says which part and where its log is."""


@dataclass
class StackInfo:
    api_url: str
    token: str
    worker_metrics: dict[str, str] = field(default_factory=dict)
    redis_url: str = ""
    database_url: str = ""
    pid: int = 0
    autoscaled: str = ""  # the pool whose extra workers follow the backlog
    reconciler_metrics: str = ""
    # Every process started for the stack, by name: the servers and the platform. Autoscaled replicas come and go.
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def web_metrics(self) -> str:
        return f"{self.api_url}/metrics"


def metrics_dirs(rundir: Path) -> list[Path]:
    """Where the stack's processes write their Prometheus multiprocess files: <rundir>/metrics/<process> for the
    platform, <rundir>/logs/metrics/<replica> for the autoscaled replicas."""
    return [rundir / "metrics", rundir / "logs" / "metrics"]


def read_running(rundir: Path = RUN_DIR) -> StackInfo | None:
    """The stack `make run` started, if it is up and answering; None otherwise."""
    try:
        info = StackInfo(**json.loads((rundir / "stack.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return info if http_ok(f"{info.api_url}/healthz") else None


def api_token(rundir: Path) -> str:
    """CELERITY_API_TOKEN if set; else the local token in .run/api-token, created once and kept across runs."""
    if token := os.environ.get("CELERITY_API_TOKEN"):
        return token
    path = rundir / "api-token"
    if not path.exists():
        rundir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


@contextlib.contextmanager
def local_stack(
    rundir: Path = RUN_DIR,
    *,
    port: int | None = None,
    pools: tuple[processes.PoolSpec, ...] = processes.DEFAULT_POOLS,
    echo_logs: bool = False,
    persistent: bool = True,
    progress: bool = True,
    metrics_port: int = FIRST_WORKER_METRICS_PORT,
    autoscale: bool = True,
) -> Iterator[StackInfo]:
    """Start everything, wait until it is ready, yield where it is, and stop it all cleanly on exit."""
    say = print if progress else (lambda *_a, **_k: None)
    rundir.mkdir(parents=True, exist_ok=True)
    logdir = rundir / "logs"
    logdir.mkdir(exist_ok=True)
    port = port or int(os.environ.get("PORT", "8000"))
    if not servers.port_free(port):
        raise StackError(f"port {port} is in use (another `make run`?); stop it or set PORT=<free port>")
    # Each worker pool and the reconciler serve /metrics and /healthz on metrics_port + n: one that cannot listen
    # would never be ready, and the start would wait out its whole timeout instead of saying why.
    if taken := [p for p in range(metrics_port, metrics_port + len(pools) + 1) if not servers.port_free(p)]:
        raise StackError(
            f"port(s) {', '.join(map(str, taken))} in use: the workers and the reconciler serve on "
            f"{metrics_port}-{metrics_port + len(pools)}; set METRICS_PORT=<first of {len(pools) + 1} free ports>"
        )
    group = processes.ProcessGroup()
    supervisor = Supervisor(group, Probing(startup_grace=float(os.environ.get("CELERITY_READY_TIMEOUT", "90"))))
    scaler: LocalAutoscaler | None = None
    server_pids: dict[str, int] = {}
    say(">> starting Redis and Postgres" + (" (embedded)" if not os.environ.get("REDIS_URL") else ""))
    with servers.redis_and_postgres(rundir, persistent=persistent, pids=server_pids) as urls:
        token = api_token(rundir)
        stack = {**urls, "CELERITY_API_TOKEN": token, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
        env = processes.base_env(stack)
        try:
            say(">> applying migrations")
            _migrate(env, logdir / "migrate.log")
            info = StackInfo(
                api_url=f"http://127.0.0.1:{port}",
                token=token,
                pid=os.getpid(),
                redis_url=urls["REDIS_URL"],
                database_url=urls["DATABASE_URL"],
                pids=dict(server_pids),
            )
            say(f">> starting web on {info.api_url} and workers for pools {', '.join(p.name for p in pools)}")
            launches = _platform(info, pools, env, rundir, port=port, metrics_port=metrics_port)
            for launch in launches:
                supervisor.add(dataclasses.replace(launch, log=None if echo_logs else logdir / f"{launch.name}.log"))
            info.pids |= group.pids()
            _wait_ready(group, {launch.name: launch.ready_url for launch in launches if launch.ready_url}, logdir)
            if autoscale:
                with stopping.uninterrupted():  # its thread starts workers: it must be reachable from `finally`
                    scaler = _autoscaler(pools, env, rundir, urls["REDIS_URL"], say, supervisor)
                info.autoscaled = scaler.replicas.env["CELERITY_POOL"] if scaler else ""
            _write_stack_files(rundir, info, stack)
            supervisor.on_restart = lambda restart: _record_restart(rundir, info, stack, restart)
            supervisor.start()
            yield info
        finally:
            with stopping.uninterrupted():  # workers and web first, in full; the servers stop after this block
                say(">> stopping (workers finish or return their in-flight tasks)")
                supervisor.stop()  # first: nothing restarted, nor stack.json rewritten, from here on
                _remove_stack_files(rundir)
                if scaler is not None:
                    scaler.stop()
                group.stop(grace=float(os.environ.get("CELERITY_STOP_GRACE", "60")))


def _platform(
    info: StackInfo,
    pools: tuple[processes.PoolSpec, ...],
    env: dict[str, str],
    rundir: Path,
    *,
    port: int,
    metrics_port: int,
) -> list[Launch]:
    """The platform's processes in start order (one more process is one more entry); notes the workers' /metrics."""
    metrics = metrics_dirs(rundir)[0]
    web_env = {**env, "PORT": str(port), "HOST": "127.0.0.1", "PROMETHEUS_MULTIPROC_DIR": str(_fresh(metrics / "web"))}
    web = Launch(
        "web", processes.web_argv(), web_env, ready_url=f"{info.api_url}/readyz", live_url=f"{info.api_url}/healthz"
    )
    launches = [web]
    for offset, pool in enumerate(pools):
        worker_port = metrics_port + offset
        worker_env = processes.worker_env(
            pool, env, metrics_port=worker_port, multiproc_dir=_fresh(metrics / pool.name)
        )
        worker_url = f"http://127.0.0.1:{worker_port}"
        launches.append(
            Launch(
                f"worker-{pool.name}",
                processes.worker_argv(pool),
                worker_env,
                ready_url=f"{worker_url}/healthz",
                live_url=f"{worker_url}/healthz",
            )
        )
        info.worker_metrics[pool.name] = f"{worker_url}/metrics"
    # The reconciler re-drives jobs the broker lost (docs/reliability.md), on the port after the pools'.
    reconciler_url = f"http://127.0.0.1:{metrics_port + len(pools)}"
    reconciler_env = {**env, "CELERITY_RECONCILER_PORT": str(metrics_port + len(pools))}
    reconciler_argv = [str(processes.BIN_DIR / "python"), "manage.py", "reconcile"]
    healthz = f"{reconciler_url}/healthz"
    launches.append(Launch("reconciler", reconciler_argv, reconciler_env, ready_url=healthz, live_url=healthz))
    info.reconciler_metrics = f"{reconciler_url}/metrics"
    return launches


def _autoscaler(
    pools: tuple[processes.PoolSpec, ...],
    env: dict[str, str],
    rundir: Path,
    redis_url: str,
    say: Any,
    supervisor: Supervisor,
) -> LocalAutoscaler | None:
    """Extra workers for the bulk pool, added and removed on backlog by the operator's own probe and policy."""
    bulk = next((pool for pool in pools if pool.name == "bulk"), None)
    if bulk is None:
        return None
    extra = processes.PoolSpec(f"{bulk.name}-auto", bulk.queues, bulk.concurrency)
    replicas = ReplicaSet(extra, {**env, "CELERITY_POOL": bulk.name}, rundir / "logs", supervisor=supervisor)
    scaler = LocalAutoscaler(replicas, redis_url, spec=dataclasses.replace(LOCAL_POLICY, min_replicas=0), say=say)
    scaler.start()
    return scaler


def _fresh(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for child in directory.iterdir():
        child.unlink()
    return directory


def _migrate(env: dict[str, str], log: Path) -> None:
    with log.open("wb") as out:
        result = subprocess.run(
            [str(processes.BIN_DIR / "python"), "manage.py", "migrate", "--noinput"],
            cwd=processes.SERVICES_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        raise StackError(f"migrations failed; see {log}:\n{log.read_text()[-2000:]}")


def _wait_ready(group: processes.ProcessGroup, ready_urls: dict[str, str], logdir: Path) -> None:
    # 90 s is plenty on an idle laptop; a machine busy with other test sessions may need more (CELERITY_READY_TIMEOUT).
    timeout = float(os.environ.get("CELERITY_READY_TIMEOUT", "90"))
    deadline = time.monotonic() + timeout
    pending = dict(ready_urls)
    while pending and time.monotonic() < deadline:
        if dead := group.exited():
            names = ", ".join(child.name for child in dead)
            raise StackError(f"{names} exited during start-up; see the logs in {logdir}")
        for name, url in list(pending.items()):
            if http_ok(url):
                del pending[name]
        time.sleep(0.25)
    if pending:
        raise StackError(f"not ready after {timeout:.0f}s: {', '.join(pending)}; see the logs in {logdir}")


def _write_stack_files(rundir: Path, info: StackInfo, stack: dict[str, str]) -> None:
    lines = [f"{key}={value}" for key, value in stack.items() if key != "DJANGO_SETTINGS_MODULE"]
    (rundir / "stack.env").write_text("\n".join(lines) + "\n")
    # Whole or not at all: a restart rewrites it while other commands may be reading it.
    partial = rundir / "stack.json.partial"
    partial.write_text(json.dumps(asdict(info), indent=2) + "\n")
    partial.replace(rundir / "stack.json")


def _record_restart(rundir: Path, info: StackInfo, stack: dict[str, str], restart: Restart) -> None:
    """stack.json keeps naming every live PID, so that tools (and the signal tests) find what to wait for."""
    if restart.name in info.pids:  # autoscaled replicas come and go and are not recorded there
        info.pids[restart.name] = restart.pid
        _write_stack_files(rundir, info, stack)


def _remove_stack_files(rundir: Path) -> None:
    for name in ("stack.env", "stack.json"):
        (rundir / name).unlink(missing_ok=True)
