"""Hot rows, measured: chunks of one job recorded concurrently by the real recorder (per-chunk progress rows) never
wait for each other, while a single progress counter on the job row makes every chunk queue behind one lock.

Eight threads (own Postgres connections) record 200 chunks of 50 items of one job. The figures it prints are the
ones in docs/concurrency.md.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import F

from celerity.db.locking import rows_lock_in_order
from celerity.jobs import services
from celerity.jobs.models import Job, JobStatus, Workload
from celerity.jobs.services import recording

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS, CHUNKS, CHUNK = 8, 200, 50


@contextmanager
def timed_locks(monkeypatch: pytest.MonkeyPatch, samples: list[float]) -> Iterator[None]:
    """Record the wait of every ordered lock the recorder takes (what celerity_lock_wait_seconds observes)."""

    def timed(*args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        started = time.perf_counter()
        try:
            return rows_lock_in_order(*args, **kwargs)
        finally:
            samples.append(time.perf_counter() - started)

    with monkeypatch.context() as patch:
        patch.setattr(recording, "rows_lock_in_order", timed)
        yield


def record_concurrently(job: Job, lock_timeout_ms: int = 0) -> float:
    """Every thread records its share of the chunks, interleaved; returns the wall time. With a lock timeout, any
    chunk that waits that long for a row lock fails the run."""
    start, errors = threading.Barrier(THREADS), []

    def worker(offset: int) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{lock_timeout_ms}ms'")
            start.wait()
            for k in range(offset, CHUNKS, THREADS):
                values: list[int | None] = [i * i for i in range(k * CHUNK, (k + 1) * CHUNK)]
                services.job_chunk_record(job_id=str(job.id), chunk_index=k, values=values)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return time.perf_counter() - began


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms, total {sum(ms):.0f} ms"


def test_per_chunk_progress_rows_do_not_serialise_the_chunks(
    started_job: Callable[..., Job], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform: progress in per-chunk rows, summed on read.
    platform = started_job(Workload.CHUNKED, items=CHUNKS * CHUNK, chunk_size=CHUNK)
    platform_waits: list[float] = []
    with timed_locks(monkeypatch, platform_waits):
        # CPU-independent proof: no recorder ever waits 10 ms for a row lock (Postgres would abort it).
        platform_wall = record_concurrently(platform, lock_timeout_ms=10)
    finished = Job.objects.get(id=platform.id)
    assert finished.status == JobStatus.SUCCEEDED
    assert finished.result == {"sum": sum(i * i for i in range(CHUNKS * CHUNK)), "count": CHUNKS * CHUNK}

    # The naive design: the same recorder, plus a progress counter on the job row in the chunk's transaction (it must
    # be in the same transaction, or a redelivered chunk would count twice).
    naive = started_job(Workload.CHUNKED, items=CHUNKS * CHUNK, chunk_size=CHUNK)
    job_row_waits: list[float] = []
    original_sync = recording._chunk_sync

    def sync_and_count(job_id: str, chunk_index: int, start: int, stop: int) -> None:
        started = time.perf_counter()
        Job.objects.filter(id=job_id).update(item_cost_ms=F("item_cost_ms") + 1)  # "done += n" on the job row
        job_row_waits.append(time.perf_counter() - started)
        original_sync(job_id, chunk_index, start, stop)

    monkeypatch.setattr(recording, "_chunk_sync", sync_and_count)
    naive_wall = record_concurrently(naive)
    assert Job.objects.get(id=naive.id).item_cost_ms == CHUNKS

    print(f"\nper-chunk rows: item-lock wait {summary(platform_waits)}; wall {platform_wall:.2f} s")
    print(f"job-row counter: job-row wait {summary(job_row_waits)}; wall {naive_wall:.2f} s")
    assert len(platform_waits) == len(job_row_waits) == CHUNKS
    # The platform's figure is the lock query's own run time on a busy CPU; the counter row is a queue of 8.
    assert sum(job_row_waits) > 3 * sum(platform_waits)
