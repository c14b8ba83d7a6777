"""Answers lost on the way back (the server did the work, the connection broke before the client heard): the client
asks again, and the second answer is the first one's outcome, never a second job or a spurious error. Through a
proxy that drops real answers of the real server (tests/client/lossy.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from celerity_client import Celerity
from tests.client.lossy import LossyProxy, lossy_proxy
from tests.services.conftest import Gunicorn
from tests.services.jobs.testtypes import words_type

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("drained")]

WORDS = words_type("chunked")
TEXTS = [{"text": "one"}, {"text": "two words"}]


@pytest.fixture
def lossy(web: Gunicorn, token: str) -> Iterator[tuple[LossyProxy, Celerity]]:
    with lossy_proxy(web.url) as (proxy, url), Celerity(url, token) as client:
        yield proxy, client


def test_a_submit_whose_answer_was_lost_makes_one_job(
    lossy: tuple[LossyProxy, Celerity], celerity: Celerity, celery_workers: object
) -> None:
    proxy, client = lossy
    proxy.lose("POST", "/api/jobs")
    submitted = client.submit(WORDS, TEXTS)
    assert proxy.requests("POST", "/api/jobs") == [202, 202]  # the server answered both; the first never arrived
    assert [job.id for job in celerity.jobs(type=WORDS)] == [submitted.id]
    assert celerity.wait(submitted.id, timeout=60).result == {"reduce": 3, "count": 2, "failed": 0}


def test_an_upload_whose_answer_was_lost_is_sent_again_whole_and_makes_one_job(
    lossy: tuple[LossyProxy, Celerity], celerity: Celerity, celery_workers: object
) -> None:
    proxy, client = lossy
    proxy.lose("POST", "/api/jobs/upload")
    texts = ({"text": "w " * (n % 50)} for n in range(5_000))  # a generator (spooled, then sent again): ~250 KB
    submitted = client.submit(WORDS, texts, chunk_size=1_000)
    assert proxy.requests("POST", "/api/jobs/upload") == [202, 202]
    assert [job.id for job in celerity.jobs(type=WORDS)] == [submitted.id]
    job = celerity.wait(submitted.id, timeout=60)
    assert job.result == {"reduce": sum(n % 50 for n in range(5_000)), "count": 5_000, "failed": 0}


def test_a_cancel_or_retry_whose_answer_was_lost_returns_the_job_it_changed(
    lossy: tuple[LossyProxy, Celerity], celerity: Celerity, celery_workers: object
) -> None:
    proxy, client = lossy
    running = celerity.submit("chunked", 40, chunk_size=1, item_cost_ms=500).id
    proxy.lose("POST", f"/api/jobs/{running}/cancel")
    assert client.cancel(running).status == "cancelled"
    assert proxy.requests("POST", f"/api/jobs/{running}/cancel") == [202, 409]  # the 409 was this call's own cancel
    failed = celerity.wait(celerity.submit(WORDS, [{"text": "x", "fail": True}]).id, timeout=60).id
    proxy.lose("POST", f"/api/jobs/{failed}/retry")
    assert client.retry(failed).status in ("running", "failed")
    assert proxy.requests("POST", f"/api/jobs/{failed}/retry")[0] == 202
    assert celerity.wait(failed, timeout=60).status == "failed"
    assert [item.attempts for item in celerity.items(failed)] == [2]  # retried once, not twice
