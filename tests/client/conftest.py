"""The client's tests run against the real stack: gunicorn (one for the whole package) on the session's Postgres and
Redis, with the session's real Celery workers; the command runs as the installed console script."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from celerity_client import Celerity
from celerity_client.command import main
from tests.services.conftest import Gunicorn, drained, gunicorn_serving

__all__ = ["drained"]

CELERITY = Path(sys.executable).with_name("celerity")  # the console script `pip install -e client/` made


@pytest.fixture(scope="package")
def web(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    with gunicorn_serving(stack_env, tmp_path_factory.mktemp("client-web"), workers=2) as served:
        yield served


@pytest.fixture(scope="package")
def token() -> str:
    return os.environ["CELERITY_API_TOKEN"]


@pytest.fixture
def celerity(web: Gunicorn, token: str) -> Iterator[Celerity]:
    with Celerity(web.url, token) as client:
        yield client


def quiet_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no configuration at all: no CELERITY_* and an empty home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERITY_")}
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), **extra}


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(web: Gunicorn, token: str, tmp_path: Path) -> Run:
    """`celerity ARGS...` as a user runs it, pointed at the test web by CELERITY_URL and CELERITY_TOKEN."""

    def command(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, **options: Any) -> Any:
        environment = env or quiet_env(tmp_path / "home", CELERITY_URL=web.url, CELERITY_TOKEN=token)
        options.setdefault("cwd", tmp_path)  # never below a checkout whose `make run` is up
        return subprocess.run(
            [str(CELERITY), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            timeout=options.pop("timeout", 120),
            check=False,
            **options,
        )

    return command


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(web: Gunicorn, token: str) -> Cli:
    """The command's `main` in this process (no interpreter to start): for what it prints, not how it exits."""

    def command(*args: str) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        code = main([*args, "--url", web.url, "--token", token], stdout=out, stderr=err)
        return Ran(code, out.getvalue(), err.getvalue())

    return command
