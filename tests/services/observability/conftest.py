"""A worker of this suite's own, consuming a queue nobody else uses and running the test-only tasks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.observability.workers import Worker, start_worker

OBS_QUEUE = "obs"


@pytest.fixture(scope="session")
def obs_worker(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    worker = start_worker(stack_env, tmp_path_factory.mktemp("obs-worker"), name="obs", queues=(OBS_QUEUE,))
    try:
        yield worker
    finally:
        worker.stop()
