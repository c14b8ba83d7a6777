"""Unit-test helpers for the jobs services: jobs started for real in Postgres, with nothing sent to the broker."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from celery import current_app

from celerity.jobs import services
from celerity.jobs.canvases import names
from celerity.jobs.models import Job, Workload


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Capture what the services would send (job_start messages, canvases, revokes) instead of sending it."""
    captured: dict[str, list[Any]] = {"start": [], "canvases": [], "revoked": []}
    send_task = current_app.send_task

    def start_captured(name: str, args: Sequence[Any] = (), **options: Any) -> Any:
        if name != names.JOB_START:
            return send_task(name, args, **options)
        captured["start"].append(args[0])  # what `creating.job_start_send` sends, after the job's commit or again

    monkeypatch.setattr(current_app, "send_task", start_captured)
    monkeypatch.setattr(
        "celerity.jobs.canvases.job_canvases",
        lambda job, chunks=None: captured["canvases"].append(job.id) or iter(()),
    )
    monkeypatch.setattr("celerity.jobs.services.finishing._revoke", captured["revoked"].extend)
    return captured


@pytest.fixture
def started_job(sent: dict[str, list[Any]]) -> Callable[..., Job]:
    """A job created and started through the services (rows in Postgres), its canvas never published: the test
    plays the workers' part."""

    def start(workload: Workload = Workload.CHUNKED, items: int = 20, chunk_size: int = 10, **extra: Any) -> Job:
        request = services.JobRequest(job_type=workload, items=items, chunk_size=chunk_size, **extra)
        job = services.job_create(request=request)
        services.job_start(job_id=str(job.id))
        return Job.objects.get(id=job.id)

    return start
