"""The prose of docs/benchmarks.md that does not change from run to run: how it is measured, and why the curves
have the shape they have (each explanation was checked against the code and the measurements it cites)."""

from __future__ import annotations

METHOD = """\
- **One machine, one Redis.** `make bench` starts a local Celerity stack (embedded Redis 6.2 and Postgres 16,
  gunicorn, worker pools `default` and `bulk` of 2 prefork processes each, autoscaling off) and, beside it, a bare
  Celery app (`loadtests/baseline/app.py`) with its own two pools of 2 processes on **the same Redis server**, in DB 3.
  Both apps have the same worker settings: JSON, `acks_late`, `reject_on_worker_lost`, prefetch 1, the same time
  limits and visibility timeout, task events on (`-E`, `task_send_sent_event`, `track_started`).
- **The same work.** An item squares its index. *Chunked*: the baseline runs what a bare-Celery user writes, a group of
  `chain(xstarmap(item, chunk), total)` per chunk on `bulk` (two messages per chunk, each item's arguments in the
  message); Celerity runs one `job_chunk_run` task per chunk on `bulk` (`services/celerity/jobs/workloads.py`), which
  squares the chunk's items in order and records them in the same task, from a message that carries the chunk's bounds.
  *Chord*: `chord([item] * width, callback)` on `default` on both sides, with the same arguments. What differs is
  Celerity: the API and its job row, `job_start` creating one row per chunk and publishing the canvas from a worker,
  every outcome written to Postgres (one statement per chunk, or per 50 chord members and worker process), progress
  rows, metrics in every task. The baseline's callbacks only sum what they are given.
- **Timing.** Celerity: `created_at → finished_at` of the job (server clock; the client polls every 50 ms but its
  polling is not in the figure). Bare Celery: from building the canvas to `.get()` returning, in the bench process.
  Chord completion: from the last header task's `task-succeeded` event to the callback's, captured the same way
  for both apps (each app's events travel on its own DB's channel).
- **Fairness and noise.** One job at a time on an idle broker (the bench waits until the queues and the `unacked`
  hash are empty), the two sides alternating (A B, then B A) so that drift hits both. Absolute figures move from
  run to run with whatever else the cores run; **ratios are taken within each repeat**, then the median.
- **Checked.** Every run's sum and count is verified on both sides, and every Celerity item row is audited
  (never written, or written twice, fails the run).
"""

EXPLANATIONS = {
    "overhead": """\
**What the overhead is.** Per chunk, Celerity's task records its outcomes with one SQL statement (insert the item
rows in index order, add them to the chunk's row, inside a short transaction that retries on deadlock), then asks
whether the job is complete (one indexed read). Per job it creates one row per chunk and publishes the canvas from
a worker (`job_start`), through one pipelined round trip per canvas of 200 chunks. Per task it records a few
Prometheus samples in files (multiprocess mode; see the instrumentation section). These items do no work at all (a
square), so this is the worst case: the overhead is fixed per chunk and per job, and an item that costs 1 ms of real
work makes a chunk of 100 cost 100 ms, against which a few milliseconds of bookkeeping vanish.""",
    "before_after": """\
What changed (issue #9): a chunk was a starmap task chained to a recording task (two messages, two task starts) whose
transaction took about 8 SQL round trips (select the item ids, lock them, update them, read them back, set the chunk
row, check completion, and Django's BEGIN/COMMIT); it is now one task and one statement. `job_start` created every item
row before it published anything (a million rows: 20.8 s, holding the job row, so a cancel waited for it); it now
creates one row per chunk and flips the status in a transaction of its own, and the recorders insert the item rows with
their outcomes. Celery's Django fix-up closed the worker's database connection around every task, so every task opened a
new one; connections are now reused (`CELERY_DB_REUSE_MAX`, `celerity/db/connections.py`). Item rows lost their
foreign-key check and their second index on `job_id` (the unique (job, index) index serves every lookup), which made
inserting them three times cheaper. The chord's body records all of its outcomes in one statement instead of one
transaction per 100 items; then (after job types landed) the header's members write their outcomes behind, in batches of
50 per worker process (one statement each, which adds them to their chunk rows), so the body only writes the few still
buffered (found by one statement) and closes the job, and `job_start` publishes a chord's header message by message
through its producer (Celery's own message and task-sent event for each member, without the per-member result
bookkeeping of `Signature.apply_async`, and declaring each entity once), flushed every 50 members so the first ones run
while the rest are being published. Last, worker and web processes freeze their startup heap (`gc.freeze`,
`config/heap.py`): a full garbage collection walked the ~100,000 objects of Django, Celery and the app (55 ms, against 9
ms in a bare Celery worker) inside whichever task crossed the threshold, such as a wide chord's body (one of five
chord-of-10,000 runs before it had a 97 ms callback). An A/B of that change alone moved chunked work by nothing
measurable (1.36 against 1.39), so the chunked ratio's move since the previous run (1.14) is the shared cores' noise
between runs, not a gain.""",
    "where": """\
`job_chunk_run` is the whole chunk: its items and their recording. The chord's `item_run` tasks are the header, whose
outcomes each worker process writes in batches of 50; `job_chord_record` is the body, whose time is decoding the
header's results, one statement finding the items still without a row, one writing those, and closing the job.
`job_start` runs once per job; its time is mostly publishing: Celery's own Python per message (building and serializing
each task and its task-sent event), the round trips being pipelined (one per canvas of 200 chunks, or one per 50 members
of a chord's header, so that the header starts running while the rest is published). It runs in a `default` process,
which runs no header task meanwhile; bare Celery publishes from the driver, a third process.""",
    "ceiling": """\
A worker's kombu connection waits for each reply, so the round-trip figure is the one to compare a single consumer
with; pipelined figures are Redis' own ceiling. The Celery runs above drive Redis at a small fraction of either:
the broker is not what limits throughput on this machine; CPU for the prefork processes (and, for Celerity,
Postgres) is.""",
    "chunk_size": """\
Small chunks cost per chunk: a message and a task start for every chunk (two of each for bare Celery, one for
Celerity), so time grows with the number of chunks. Large chunks leave processes idle: with 2 bulk processes, a job
of a few chunks cannot keep both busy and the last chunk runs alone. What Celerity adds that no chunk size removes is
per job (the API, `job_start` and its queue hop before any chunk runs, the completion) and per item (one row
inserted per item): at thousands of items per chunk, when the whole job takes a tenth of a second, that fixed part
is what the ratio shows.""",
    "chord_width": """\
Bare Celery's chord on Redis keeps the header's results in a Redis list; each header task appends its result and
increments a counter, and the last one reads the whole list and publishes the callback with every result in its
arguments. The callback's message and its JSON decoding grow with the width. Celerity's callback then inserts every
header result into Postgres in one statement (10,000 rows in about 75 ms on an idle machine). Celerity's header is
published by `job_start` on a `default` worker process, which therefore runs no header task while it publishes
(through one pipelined round trip, but Celery's Python cost per message remains); bare Celery publishes from the
driver, a third process. When other work loads the machine beyond its cores, the kernel shares CPU time per
process, so that third process is also a larger share of the machine: the chord ratios then measure the scheduler as
much as Celerity.""",
    "job_size": """\
Celerity's POST only inserts the job row and commits: it does not depend on the job's size. The size is paid later
in `job_start`, on a worker: one row per chunk (created by Postgres itself), then building and publishing the canvas,
200 chunks per pipelined round trip, so the first chunks run while the rest are still being published. A bare-Celery
caller pays its whole publishing cost in its own request before it can answer (and its messages carry every item's
arguments, Celerity's only the chunk's bounds). While a big job starts, the API keeps answering small POSTs (their
p99 is in the table), and a cancel sent during the start is answered at once: `job_start` never holds the job row.
For a million items `job_start` runs longer than linearly because its first chunks run while it still publishes:
from then on it shares the cores with its own job (the first chunk's start is the figure that matters).""",
}
