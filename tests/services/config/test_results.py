"""The result backend (config/results.py): a process that only publishes subscribes to no result channel, and one
that waits on a result still gets it, stored before or after it began waiting. Against the session's real Redis."""

from __future__ import annotations

import threading

import pytest
from celery import uuid
from celery.result import AsyncResult

from config.celery_app import app
from config.results import PublishingRedisBackend

QUEUE = "celerity-test-results"  # no worker consumes it: the message is only published, then deleted


def test_the_app_uses_it_with_the_configured_url() -> None:
    assert isinstance(app.backend, PublishingRedisBackend)
    assert app.backend.url == app.conf.result_backend


def test_publishing_a_task_subscribes_to_no_result_channel() -> None:
    try:
        sent = [app.send_task("celerity.tests.nothing", queue=QUEUE) for _ in range(3)]  # alive: never unsubscribed
        channels = {app.backend.get_key_for_task(result.id) for result in sent}
        assert not channels & app.backend.result_consumer.subscribed_to
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.client.delete(QUEUE)


# Celery's Redis backend stores a result with SETEX, which redis-py 8 warns about (the suite turns warnings to errors).
@pytest.mark.filterwarnings("ignore:Call to deprecated setex:DeprecationWarning")
def test_waiting_on_a_result_still_gets_it_stored_before_or_after_the_wait_began() -> None:
    early, late = uuid(), uuid()
    app.backend.store_result(early, 1, "SUCCESS")
    assert AsyncResult(early, app=app).get(timeout=10) == 1
    timer = threading.Timer(0.3, app.backend.store_result, (late, 2, "SUCCESS"))
    timer.start()
    try:
        assert AsyncResult(late, app=app).get(timeout=10) == 2
    finally:
        timer.cancel()
