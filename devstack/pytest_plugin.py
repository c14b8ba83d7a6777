"""pytest plugin (`-p devstack.pytest_plugin`): real Redis and Postgres for the test session.

It must run before pytest-django reads the settings, which happens while the initial conftests load, so it is a
plugin rather than a conftest. With REDIS_URL / DATABASE_URL set it uses those servers, but never their data:
the tests get a database of their own (`celerity_test`, recreated) and Redis DB 15 (flushed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from devstack import servers

TEST_DATABASE = "celerity_test"
TEST_REDIS_DB = 15
_stack: contextlib.ExitStack | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    global _stack
    if os.environ.get("CELERITY_TEST_STACK") == "ready":  # xdist workers and nested runs inherit the stack
        return
    _stack = contextlib.ExitStack()
    rundir = Path(tempfile.mkdtemp(prefix="celerity-test-"))
    _stack.callback(shutil.rmtree, rundir, ignore_errors=True)
    given_redis, given_db = os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL")
    env = _stack.enter_context(servers.redis_and_postgres(rundir, persistent=False))

    redis_url = env["REDIS_URL"]
    if given_redis:
        redis_url = _redis_db(given_redis, TEST_REDIS_DB)
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    servers.ensure_database(env["DATABASE_URL"], TEST_DATABASE, recreate=True)
    database_url = servers.with_database(env["DATABASE_URL"], TEST_DATABASE)

    os.environ.update(
        REDIS_URL=redis_url,
        DATABASE_URL=database_url,
        CELERITY_TEST_RUNDIR=str(rundir),
        CELERITY_TEST_STACK="ready",
        CELERITY_API_TOKEN=os.environ.get("CELERITY_API_TOKEN", "test-token"),
    )
    os.environ.pop("REDIS_RESULT_URL", None)
    early_config.stash[_summary_key] = (
        f"celerity stack: redis={'given' if given_redis else 'embedded'} {redis_url}, "
        f"postgres={'given' if given_db else 'embedded'} db={TEST_DATABASE}"
    )


_summary_key = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> str | None:
    return config.stash.get(_summary_key, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _stack
    if _stack is not None:
        _stack.close()
        _stack = None
        os.environ.pop("CELERITY_TEST_STACK", None)


def _redis_db(url: str, db: int) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))
