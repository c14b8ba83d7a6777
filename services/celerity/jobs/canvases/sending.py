"""Send a job's canvases through the caller's producer, so that their messages ride its pipelined batches.

A chord's header is published here message by message rather than through `chord.apply_async`, for two reasons:
- Celery's `chord.apply_async` takes no producer: it publishes its header through one of its own, one round trip per
  message (two, with the task-sent event), from the `default` process whose slot the header needs;
- per message, `Signature.apply_async` clones and freezes the signature, routes it, builds an `AsyncResult` and a
  `GroupResult` nobody here waits on, and subscribes this worker to every member's result channel
  (`backend.on_task_call`): about 0.9 ms of Python per member, so `job_start` held a worker slot for 0.9 s per 1,000
  members while the header's own workers waited for its batch.

What a member's message carries is exactly what Celery's chord would send (`app.amqp.create_task_message`: its group
id and index, the frozen body as its `chord`, its task-sent event), sent by `app.amqp.send_task_message` (so the
publish signals, the retry policy and the events behave as for any task), and the chord's size is set in the result
backend before the first member, as Celery sets it before the last. Members are flushed every `CHORD_FLUSH` Redis
commands, so the first ones run while the rest are being published.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from celery import chord, group, uuid
from celery.canvas import Signature
from kombu.messaging import Producer

PIPELINE = 1000  # Redis commands per pipelined round trip (a message and its task-sent event are two)
CHORD_FLUSH = 100  # the same for a chord's header: its first members run while the rest are being published


def canvas_publish(canvas: Signature, *, producer: Producer) -> None:
    """Publish one canvas of a job in pipelined round trips (kombu's Redis publish batch) instead of one per message
    and one per task-sent event; a failed round trip raises, as a failed publish does. A chord goes through
    `chord_publish`, anything else through Celery with `producer`."""
    if isinstance(canvas, chord):
        with producer.batch(max_size=CHORD_FLUSH):
            chord_publish(canvas, producer=producer)
    else:
        with producer.batch(max_size=PIPELINE):
            canvas.apply_async(producer=producer)


def chord_publish(canvas: chord, *, producer: Producer) -> str:
    """Publish a chord whose header is a flat group of single tasks and whose body is one task; returns its group id."""
    app = canvas.app
    members: list[Signature] = list(canvas.tasks.tasks if isinstance(canvas.tasks, group) else canvas.tasks)
    body, group_id = canvas.body, str(uuid())
    parent = app.current_worker_task  # job_start: the members' parent and root, as Celery would set them
    root_id = (parent.request.root_id or parent.request.id) if parent else None
    parent_id = parent.request.id if parent else None
    body.freeze(uuid(), group_id=group_id, root_id=root_id)
    app.backend.set_chord_size(group_id, len(members))
    sent_event = bool(app.conf.task_send_sent_event)
    with _declaring_once(producer):
        for index, member in enumerate(members):
            _member_publish(app, producer, member, index, group_id, body, sent_event, root_id, parent_id)
    return group_id


@contextlib.contextmanager
def _declaring_once(producer: Producer) -> Iterator[None]:
    """kombu checks its declaration cache for every message (the queue and the producer's exchange, and the event
    exchange of its task-sent event), binding a copy of each entity every time: about a quarter of the header's
    publishing. Here each entity is declared the first time only (on Redis a task message goes straight to its list
    and an event to the exchange's bound queues whatever the publisher declares; the producer is this thread's for
    the whole header)."""
    declare, seen = producer.maybe_declare, set()

    def once(entity: Any, *args: Any, **kwargs: Any) -> Any:
        key = (type(entity).__name__, getattr(entity, "name", None))
        if key in seen:
            return False
        seen.add(key)
        return declare(entity, *args, **kwargs)

    producer.maybe_declare = once  # type: ignore[method-assign]  # for this header only, restored below
    try:
        yield
    finally:
        del producer.maybe_declare  # the instance attribute hid the method


def _member_publish(
    app: Any,
    producer: Producer,
    member: Signature,
    index: int,
    group_id: str,
    body: Signature,
    sent_event: bool,
    root_id: str | None,
    parent_id: str | None,
) -> None:
    """One member's message, as Celery's chord would send it."""
    options: dict[str, Any] = member.options
    task_id, queue, args = options.get("task_id") or uuid(), options["queue"], tuple(member.args)
    message = app.amqp.create_task_message(
        task_id,
        member.task,
        args,
        member.kwargs,
        group_id=group_id,
        group_index=index,
        chord=body,
        create_sent_event=sent_event,
        root_id=root_id,
        parent_id=parent_id,
        argsrepr=repr(args),  # saferepr's truncation is for arbitrary arguments; ours are short
        kwargsrepr=repr(member.kwargs),
    )
    app.amqp.send_task_message(producer, member.task, message, queue=queue)
