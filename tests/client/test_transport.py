"""The retry rule's parts: `Retry-After` read as seconds or as an HTTP date, and a jittered backoff that grows to a
cap; the whole loop runs against the real stack (test_client_faults, test_lost_answers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from celerity_client import Job, RetryPolicy, UnexpectedAnswer
from celerity_client.errors import Unavailable, api_error
from celerity_client.models import page_of, parsed
from celerity_client.transport import retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), (" 120 ", 120.0), ("Tue, 08 Dec 2026 10:00:30 GMT", 30.0), ("Tue, 08 Dec 2026 09:59:00 GMT", 0.0)],
)
def test_retry_after_is_seconds_or_a_date(header: str, seconds: float) -> None:
    now = datetime(2026, 12, 8, 10, 0, 0, tzinfo=UTC)
    assert retry_after(header, now=now) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "-3"])
def test_an_unreadable_retry_after_is_none(header: str | None) -> None:
    assert retry_after(header) is None


def test_the_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0)
    for retry, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        waits = [policy.backoff(retry) for _ in range(200)]
        assert ceiling / 2 <= min(waits) <= max(waits) <= ceiling
        assert max(waits) - min(waits) > ceiling / 10  # jittered, not all the same


def test_the_apis_error_becomes_its_type_with_its_fields() -> None:
    body = {"error": "unavailable", "message": "the database is unavailable", "fields": {"database": "unavailable"}}
    error = api_error(503, body, "", retry_after=5.0)
    assert isinstance(error, Unavailable)
    assert (error.error, error.fields, error.retry_after) == ("unavailable", {"database": "unavailable"}, 5.0)
    assert str(error) == "503 unavailable: the database is unavailable"


def test_an_answer_that_is_not_the_apis_json_still_says_what_came_back() -> None:
    error = api_error(502, None, "<html><body>\n  <h1>502 Bad Gateway</h1></body></html>")
    assert str(error) == "502 http_502: <html><body> <h1>502 Bad Gateway</h1></body></html>"


def test_an_answer_without_what_every_version_of_the_api_sends_is_unexpected() -> None:
    with pytest.raises(UnexpectedAnswer, match="KeyError"):
        parsed(Job.from_json, {"status": "running"})  # no id
    with pytest.raises(UnexpectedAnswer, match="not a page"):
        page_of("<html>a proxy's page</html>")
    job = parsed(Job.from_json, {"id": "j", "status": "running", "principal": "a field added later"})
    assert (job.id, job.raw["principal"]) == ("j", "a field added later")  # what it does not know, it keeps
