"""Fixtures every test area shares: the real servers (started by devstack.pytest_plugin) and real Celery workers."""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack import processes

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The services' broker and result backend for this test session (a real redis-server)."""
    return os.environ["REDIS_URL"]


@pytest.fixture(scope="session")
def redis_url_for(redis_url: str) -> Callable[[int], str]:
    """Another DB of the same Redis, for tests that must not see the services' queues (e.g. the operator's probe)."""

    def url(db: int) -> str:
        return urllib.parse.urlunsplit(urllib.parse.urlsplit(redis_url)._replace(path=f"/{db}"))

    return url


@pytest.fixture(scope="session")
def database_url() -> str:
    """The test database on a real Postgres (recreated for each session)."""
    return os.environ["DATABASE_URL"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: pytest.FixtureRequest) -> None:
    """Migrate the session's own database (devstack.pytest_plugin created it empty); workers use the same one."""
    from django.core.management import call_command

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        call_command("migrate", verbosity=0, interactive=False)


@pytest.fixture(scope="session")
def stack_env(redis_url: str, database_url: str) -> dict[str, str]:
    """The environment a platform process (web, worker) gets in tests."""
    return processes.base_env(
        {
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "CELERITY_API_TOKEN": os.environ["CELERITY_API_TOKEN"],
            "CELERITY_HEARTBEAT_INTERVAL": "1",
            # the repository's root and examples/, so the workers install the test suite's job types and the
            # examples app (config/settings/test.py)
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), str(REPO_ROOT / "examples"), os.environ.get("PYTHONPATH")])
            ),
        }
    )


@pytest.fixture(scope="session")
def celery_workers(
    django_db_setup: None,
    django_db_blocker: object,
    stack_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, int]]:
    """Real Celery workers for the `default` and `bulk` pools, as `make run` starts them; yields metrics ports."""
    from devstack.servers import free_port

    group = processes.ProcessGroup()
    logdir = tmp_path_factory.mktemp("workers")
    ports: dict[str, int] = {}
    for pool in processes.DEFAULT_POOLS:
        ports[pool.name] = free_port()
        multiproc_dir = logdir / f"metrics-{pool.name}"
        multiproc_dir.mkdir()
        env = processes.worker_env(pool, stack_env, metrics_port=ports[pool.name], multiproc_dir=multiproc_dir)
        group.start(f"worker-{pool.name}", processes.worker_argv(pool), env, log=logdir / f"{pool.name}.log")
    try:
        _wait_for_workers(len(processes.DEFAULT_POOLS), group, logdir)
        yield ports
    finally:
        group.stop(grace=30)


def _wait_for_workers(count: int, group: processes.ProcessGroup, logdir: Path, timeout: float = 60) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dead := group.exited():
            logs = "\n".join((logdir / f"{c.name.removeprefix('worker-')}.log").read_text()[-3000:] for c in dead)
            raise RuntimeError(f"worker exited during start-up:\n{logs}")
        replies = app.control.ping(timeout=0.5) or []
        if len(replies) >= count:
            return
    raise RuntimeError(f"{count} workers did not answer ping within {timeout:.0f}s; logs in {logdir}")
