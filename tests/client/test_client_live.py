"""Every call of `Celerity` against the real stack (gunicorn, Postgres, Redis, Celery workers): what it sends is what
the API takes, what it returns is what the API answered, and what the API refuses arrives as a typed error."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest

import celerity_client.client
from celerity_client import (
    Celerity,
    Conflict,
    InvalidItem,
    InvalidRequest,
    NotFound,
    Unauthorized,
    WaitTimeout,
)
from tests.services.conftest import Gunicorn
from tests.services.jobs.testtypes import TEXT_SCHEMA, words_type

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

WORDS = words_type("chunked")  # counts each text's words; an item with "fail": true raises; its reduce sums them
TEXTS = [{"text": "one"}, {"text": "two words"}, {"text": "and three words"}]


def squares(n: int) -> int:
    return (n - 1) * n * (2 * n - 1) // 6


def test_a_list_runs_inline_and_its_failed_item_is_found(celerity: Celerity, celery_workers: object) -> None:
    submitted = celerity.submit(WORDS, [*TEXTS, {"text": "broken item", "fail": True}])
    assert (submitted.status, submitted.url.endswith(submitted.id)) == ("pending", True)
    job = celerity.wait(submitted.id, timeout=60)
    assert (job.status, job.type, job.items, job.error) == ("failed", WORDS, 4, "1 of 4 items failed")
    assert (job.progress.done, job.progress.failed, job.progress.total) == (3, 1, 4)
    assert job.result == {"reduce": 6, "count": 3, "failed": 1}
    assert celerity.job(submitted.id) == job
    (failed,) = celerity.items(submitted.id, state="failed")
    assert (failed.index, failed.input, failed.attempts) == (3, {"text": "broken item", "fail": True}, 1)
    assert failed.error == "ValueError: asked to fail: 'broken item'"
    assert [item.output for item in celerity.items(submitted.id, state="done")] == [1, 2, 3]


def test_every_kind_of_items_makes_the_job_it_should(
    celerity: Celerity, celery_workers: object, tmp_path: Path
) -> None:
    ndjson = tmp_path / "texts.ndjson"
    ndjson.write_text("".join(json.dumps(text) + "\n" for text in TEXTS))
    many = [{"text": "a b"}] * (celerity_client.client.INLINE_ITEMS + 1)  # too many to go inline: uploaded
    with ndjson.open("rb") as binary, ndjson.open() as text:
        submitted = {
            "count": celerity.submit("chunked", 250, chunk_size=50),
            "generator": celerity.submit(WORDS, (text for text in TEXTS)),
            "path": celerity.submit(WORDS, ndjson),
            "binary file": celerity.submit(WORDS, binary),
            "text file": celerity.submit(WORDS, text),
            "bytes": celerity.submit(WORDS, io.BytesIO(ndjson.read_bytes())),
            "long list": celerity.submit(WORDS, many, chunk_size=500),
        }
    jobs = {kind: celerity.wait(s.id, timeout=120) for kind, s in submitted.items()}
    assert {kind: job.status for kind, job in jobs.items()} == dict.fromkeys(submitted, "succeeded")
    assert jobs["count"].result == {"sum": squares(250), "count": 250}
    assert jobs["count"].chunk_size == 50
    for kind in ("generator", "path", "binary file", "text file", "bytes"):
        assert jobs[kind].result == {"reduce": 6, "count": 3, "failed": 0}, kind
    assert (jobs["long list"].result, jobs["long list"].chunk_size) == (
        {"reduce": 2 * len(many), "count": len(many), "failed": 0},
        500,
    )


def test_items_are_read_across_pages(celerity: Celerity, celery_workers: object) -> None:
    job = celerity.wait(celerity.submit("map", 2_500, chunk_size=500, fail_rate=0.1).id, timeout=60)
    every = list(celerity.items(job.id))
    assert [item.index for item in every] == list(range(2_500))  # three pages of 1,000
    assert all(item.input == item.index for item in every)  # generated items: item i's input is i
    failed = list(celerity.items(job.id, state="failed"))
    assert len(failed) == job.progress.failed > 0
    assert all(item.state == "failed" and item.output is None for item in failed)


def test_jobs_are_listed_newest_first_by_status_and_type_across_pages(
    celerity: Celerity, celery_workers: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(celerity_client.client, "JOBS_PAGE", 2)
    words = [celerity.submit(WORDS, TEXTS[:1]).id for _ in range(5)]
    squares_job = celerity.submit("chunked", 10).id
    for job_id in [*words, squares_job]:
        celerity.wait(job_id, timeout=60)
    assert [job.id for job in celerity.jobs(type=WORDS)] == words[::-1]
    assert [job.id for job in celerity.jobs(limit=3)] == [squares_job, *words[::-1][:2]]
    assert {job.id for job in celerity.jobs(status="succeeded")} == {*words, squares_job}
    assert list(celerity.jobs(status="running")) == []


def test_a_wait_gives_up_at_its_timeout_and_a_cancel_stops_the_job(celerity: Celerity, celery_workers: object) -> None:
    job_id = celerity.submit("chunked", 40, chunk_size=1, item_cost_ms=500).id
    with pytest.raises(WaitTimeout) as late:
        celerity.wait(job_id, timeout=0.5)
    assert late.value.job.status in ("pending", "running")
    cancelled = celerity.cancel(job_id)
    assert (cancelled.id, cancelled.status) == (job_id, "cancelled")
    with pytest.raises(Conflict) as again:
        celerity.cancel(job_id)
    assert (again.value.status, again.value.fields) == (409, {"status": "job is already cancelled"})


def test_a_retry_runs_only_the_failed_items_again(celerity: Celerity, celery_workers: object) -> None:
    first = celerity.wait(celerity.submit(WORDS, [*TEXTS, {"text": "no", "fail": True}]).id, timeout=60)
    assert first.status == "failed"
    with pytest.raises(Conflict):
        celerity.retry(celerity.wait(celerity.submit(WORDS, TEXTS).id, timeout=60).id)  # it succeeded
    assert celerity.retry(first.id).status == "running"
    again = celerity.wait(first.id, timeout=60)
    assert (again.status, again.progress.done, again.progress.failed) == ("failed", 3, 1)
    assert {item.index: item.attempts for item in celerity.items(first.id)} == {0: 1, 1: 1, 2: 1, 3: 2}


def test_the_types_come_with_their_defaults(celerity: Celerity) -> None:
    types = {t.name: t for t in celerity.types()}
    words = types[WORDS]
    assert (words.canvas, words.queue, words.chunk_size, words.reduce, words.schema) == (
        "chunked",
        "bulk",
        3,
        True,
        TEXT_SCHEMA,
    )
    assert {"chunked", "chord", "checksum", "wordcount"} <= set(types)


def test_what_the_api_refuses_arrives_typed_with_its_fields(celerity: Celerity, web: Gunicorn) -> None:
    with pytest.raises(InvalidRequest) as bad_item:
        celerity.submit(WORDS, [{"text": "ok"}, {"txt": "typo"}])
    assert bad_item.value.fields == {"items.1": "'text' is a required property"}
    with pytest.raises(InvalidRequest) as bad_line:
        celerity.submit(WORDS, iter([{"text": "ok"}, {"text": 7}]))  # the upload names the line too
    assert list(bad_line.value.fields) == ["items.1.text"]
    with pytest.raises(InvalidRequest) as unknown:
        celerity.submit("no-such-type", 10)
    assert list(unknown.value.fields) == ["type"]
    assert "unknown job type" in str(unknown.value)
    with pytest.raises(NotFound) as missing:
        celerity.job(str(uuid.uuid4()))
    assert (missing.value.error, missing.value.fields) == ("not_found", {"id": "not found"})
    with Celerity(web.url, "wrong-token") as stranger, pytest.raises(Unauthorized) as refused:
        stranger.types()
    assert refused.value.error == "unauthorized"
    with pytest.raises(TypeError, match="items: a count, a list or iterable"):
        celerity.submit(WORDS, {"text": "one item, not a list"})  # a dict would iterate its keys
    with pytest.raises(InvalidItem, match=r"items.2: not JSON"):
        celerity.submit(WORDS, [{"text": "a"}, {"text": "b"}, {"text": float("nan")}])
    assert list(celerity.jobs()) == []  # nothing was created by any of them


def test_a_resubmit_with_the_same_key_gives_the_same_job(celerity: Celerity, celery_workers: object) -> None:
    first = celerity.submit(WORDS, TEXTS)
    assert uuid.UUID(first.idempotency_key)  # every submit has a key, unless it is given one
    again = celerity.submit(WORDS, TEXTS, idempotency_key=first.idempotency_key)
    uploaded = celerity.submit(WORDS, iter(TEXTS), idempotency_key="batch-7")
    uploaded_again = celerity.submit(WORDS, iter(TEXTS), idempotency_key="batch-7")
    assert (again.id, uploaded_again.id) == (first.id, uploaded.id)
    assert celerity.submit(WORDS, TEXTS).id != first.id  # a new submit, a new key, a new job
    assert len(list(celerity.jobs(type=WORDS))) == 3
