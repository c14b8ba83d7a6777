"""Hot rows, measured: chunks of one job recorded concurrently by the real recorder (per-chunk progress rows) never
wait for each other, while a single progress counter on the job row makes every chunk queue behind one lock; and
copies of the same recording racing each other queue on the items' insert order instead of deadlocking. Which
design waits is proven with lock timeouts and held-open transactions, never with a clock.

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
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F
from psycopg import errors as pg_errors

from celerity.db.retrying import atomic_with_retry
from celerity.jobs import services
from celerity.jobs.models import Item, Job, JobStatus, Workload
from celerity.jobs.services import recording
from celerity.jobs.services.running import Outcome
from celerity.observability.metrics import DB_RETRIES_TOTAL
from tests.services.jobs.outcomes import outcomes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS, CHUNKS, CHUNK = 8, 200, 50


@contextmanager
def timed_recordings(monkeypatch: pytest.MonkeyPatch, samples: list[float]) -> Iterator[None]:
    """Time every chunk's recording statement (what celerity_lock_wait_seconds{lock="jobs_item"} observes): its run
    time holds any wait for another recorder's rows."""
    original = recording.items_write

    def timed(*args: Any, **kwargs: Any) -> tuple[int, int, str, str]:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            samples.append(time.perf_counter() - started)

    with monkeypatch.context() as patch:
        patch.setattr(recording, "items_write", timed)
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
                services.job_chunk_record(job_id=str(job.id), chunk_index=k, outcomes=outcomes(values))
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
    platform_times: list[float] = []
    with timed_recordings(monkeypatch, platform_times):
        # CPU-independent proof: no recorder ever waits 10 ms for a row lock (Postgres would abort it).
        platform_wall = record_concurrently(platform, lock_timeout_ms=10)
    finished = Job.objects.get(id=platform.id)
    assert finished.status == JobStatus.SUCCEEDED
    assert finished.result == {"sum": sum(i * i for i in range(CHUNKS * CHUNK)), "count": CHUNKS * CHUNK}

    # The naive design: the same recorder, plus a progress counter on the job row in the chunk's transaction (it must
    # be in the same transaction, or a redelivered chunk would count twice).
    naive = started_job(Workload.CHUNKED, items=CHUNKS * CHUNK, chunk_size=CHUNK)
    job_row_waits: list[float] = []
    original_write = recording.items_write

    @atomic_with_retry(lock="test_job_row")
    def count_then_write(job_id: str, chunk_index: int | None, values: list[Outcome]) -> tuple[int, str, str]:
        started = time.perf_counter()
        Job.objects.filter(id=job_id).update(item_cost_ms=F("item_cost_ms") + 1)  # "done += n" on the job row
        job_row_waits.append(time.perf_counter() - started)
        return original_write(job_id, chunk_index, values)  # nested: the same transaction

    monkeypatch.setattr(recording, "items_write", count_then_write)
    naive_wall = record_concurrently(naive)
    assert Job.objects.get(id=naive.id).item_cost_ms == CHUNKS

    # The figures for docs/concurrency.md; which design waits is proven without a clock by the two tests below.
    print(f"\nper-chunk rows: recording statement {summary(platform_times)}; wall {platform_wall:.2f} s")
    print(f"job-row counter: job-row wait {summary(job_row_waits)}; wall {naive_wall:.2f} s")
    assert len(platform_times) == len(job_row_waits) == CHUNKS


@contextmanager
def held_open(action: Callable[[], object]) -> Iterator[None]:
    """Run `action` in another connection's transaction and keep that transaction open (its locks held) until the
    block ends; then roll it back."""
    ready, release, errors = threading.Event(), threading.Event(), []

    def holder() -> None:
        try:
            with transaction.atomic():
                action()
                ready.set()
                release.wait(timeout=120)
                transaction.set_rollback(True)
        except BaseException as exc:
            errors.append(exc)
            ready.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert ready.wait(timeout=120), "the holding transaction never got its locks"
        assert errors == []
        yield
    finally:
        release.set()
        thread.join(timeout=120)
    assert errors == []


def chunk_values(k: int) -> list[int | None]:
    return [i * i for i in range(k * CHUNK, (k + 1) * CHUNK)]


def test_a_chunk_is_recorded_while_another_chunks_recording_is_still_open(started_job: Callable[..., Job]) -> None:
    job = started_job(Workload.CHUNKED, items=4 * CHUNK, chunk_size=CHUNK)
    job_id = str(job.id)
    with held_open(lambda: recording.items_write(job_id, 0, outcomes(chunk_values(0)))):
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")  # any wait for the open recording's locks aborts this one
        assert services.job_chunk_record(job_id=job_id, chunk_index=1, outcomes=outcomes(chunk_values(1))) == CHUNK


def test_a_progress_counter_on_the_job_row_makes_the_next_chunk_wait(started_job: Callable[..., Job]) -> None:
    """The hot row the per-chunk rows avoid: with "done += n" on the job row, a chunk waits for any open recording."""
    job = started_job(Workload.CHUNKED, items=4 * CHUNK, chunk_size=CHUNK)
    job_id = str(job.id)

    def naive_record(k: int) -> None:
        Job.objects.filter(id=job_id).update(item_cost_ms=F("item_cost_ms") + 1)
        recording.items_write(job_id, k, outcomes(chunk_values(k)))

    with held_open(lambda: naive_record(0)):
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '500ms'")
        with pytest.raises(OperationalError) as raised, transaction.atomic():
            naive_record(1)
    assert isinstance(raised.value.__cause__, pg_errors.LockNotAvailable)


@pytest.mark.parametrize("workload", [Workload.CHUNKED, Workload.CHORD])
def test_racing_redeliveries_of_the_same_items_queue_and_count_once(
    started_job: Callable[..., Job], workload: Workload
) -> None:
    """Eight copies of the same recordings at once (redeliveries racing the original): each item is inserted once,
    in index order by every copy, so they queue instead of deadlocking (a lock timeout far above any queue would
    turn a deadlock into Postgres' own abort after 1 s, and the copy would retry; none may be needed)."""
    items, chunk = 2000, 100
    job = started_job(workload, items=items, chunk_size=chunk)
    start, errors, recorded = threading.Barrier(THREADS), [], []
    retries = DB_RETRIES_TOTAL.labels(lock=recording.ITEM_LOCK, reason="deadlock")
    retries_before = retries._value.get()  # type: ignore[attr-defined]

    def copy() -> None:
        try:
            start.wait()
            values: list[int | None] = [i * i for i in range(items)]
            if workload is Workload.CHORD:
                recorded.append(services.job_chord_record(job_id=str(job.id), outcomes=outcomes(values)))
            else:
                for k in range(items // chunk):
                    part = values[k * chunk : (k + 1) * chunk]
                    recorded.append(
                        services.job_chunk_record(job_id=str(job.id), chunk_index=k, outcomes=outcomes(part))
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=copy) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(recorded) == items, "every item counted by exactly one copy"
    assert retries._value.get() == retries_before, "no copy was aborted by a deadlock"  # type: ignore[attr-defined]
    assert set(Item.objects.filter(job=job).values_list("writes", flat=True)) == {1}
    assert Job.objects.get(id=job.id).result == {"sum": sum(i * i for i in range(items)), "count": items}
