"""Publishing a chord's header message by message: each member's message is the one Celery's chord would send, and
the chord completes through Celery's own backend. Real Redis; the messages are read back from a queue nobody
consumes."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import current_app

from celerity.jobs import canvases
from celerity.jobs.canvases import ids, names, sending
from celerity.jobs.models import Job, Workload


@pytest.fixture
def queue(redis_url: str) -> Iterator[str]:
    name = f"publishing-{uuid.uuid4().hex[:8]}"
    yield name
    redis.Redis.from_url(redis_url).delete(name)


def test_every_member_carries_the_chord_and_the_chord_size_is_set_before_the_first(queue: str, redis_url: str) -> None:
    job = Job(id=uuid.uuid4(), job_type="chord", workload=Workload.CHORD, items=120, chunk_size=100, queue=queue)
    (canvas,) = canvases.job_canvases(job)
    with current_app.producer_or_acquire() as producer:
        sending.canvas_publish(canvas, producer=producer)
        assert "maybe_declare" not in vars(producer), "the pooled producer declares again for its next user"
    raw = redis.Redis.from_url(redis_url).lrange(queue, 0, -1)
    messages = [json.loads(m) for m in reversed(raw)]  # LPUSH: the first published is last in the list
    assert len(messages) == 120
    headers = [m["headers"] for m in messages]
    assert [h["task"] for h in headers] == [names.ITEM] * 120
    assert [h["id"] for h in headers] == [ids.item_task_id(str(job.id), i) for i in range(120)]
    assert [h["group_index"] for h in headers] == list(range(120))
    (group_id,) = {h["group"] for h in headers}
    assert all(str(job.id) in h["argsrepr"] for h in headers), "the task-sent events name the job"
    args, kwargs, embed = json.loads(base64.b64decode(messages[0]["body"]))
    assert (args, kwargs) == (["chord", 0, str(job.id), False, {}], {})
    assert embed["chord"]["task"] == names.CHORD_RECORD
    assert embed["chord"]["options"]["group_id"] == group_id
    assert [e["task"] for e in embed["chord"]["options"]["link_error"]] == [names.JOB_FAIL]
    size = current_app.backend.client.get(current_app.backend.get_key_for_group(group_id, ".s"))
    assert int(size) == 120
