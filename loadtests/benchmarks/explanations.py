"""The prose of docs/benchmarks.md that does not change from run to run: how it is measured, and why the curves
have the shape they have (each explanation was checked against the code and the measurements it cites)."""

from __future__ import annotations

METHOD = """\
- **One machine, one Redis, the same number of processes.** `make bench` starts a local Celerity stack (embedded
  Redis 6.2 and Postgres 16, gunicorn, worker pools `default` and `bulk` of 2 prefork processes each, autoscaling off)
  and, beside it, two bare Celery apps (`loadtests/baseline/app.py`), each with its own two pools of 2 prefork
  processes on **the same Redis server**, each in a DB of its own (3 and 4), all in the same run.
- **Two baselines.** *Bare Celery written the plain way* (`plain`): one task per chunk that squares the chunk's items
  and returns their count and sum, published as a `group` from the bench process, the results in hand
  (`GroupResult.get()`). Its workers are set up as fast as a bare-Celery user would reasonably set them while keeping
  at-least-once delivery, which Celerity also gives: JSON, `task_acks_late` and `task_reject_on_worker_lost`, the same
  time limits and visibility timeout, Celery's default prefetch (4 per process), and Celery's defaults of no task
  events, no task-sent events and no STARTED state (`PLAIN_SETTINGS`; what each of those costs is measured below).
  The end of its job is the last result's `date_done`, stored by the worker. *Bare Celery's canvas form* (`celery`):
  Celerity's canvases with the baseline's tasks, a group of `chain(xstarmap(item, chunk), total)` per chunk (two
  messages per chunk, each item's arguments in the message), and the chord; its workers have Celerity's settings
  (prefetch 1, task events on: `-E`, `task_send_sent_event`, `track_started`), as they had before the plain baseline
  existed, so its figures stay comparable with earlier runs.
- **The same work.** An item squares its index. Celerity runs one `job_chunk_run` task per chunk on `bulk`
  (`services/celerity/jobs/canvases/`), which squares the chunk's items in order and records them in the same task,
  from a message that carries the chunk's bounds. *Chord*: `chord([item] * width, callback)` on `default` on Celerity
  and the canvas baseline, with the same arguments. What differs is Celerity: the API and its job row, `job_start`
  creating one row per chunk and publishing the canvas from a worker, every outcome written to Postgres (one statement
  per chunk, or per 50 chord members and worker process), progress rows, metrics in every task. The baselines only
  return or sum what they are given.
- **Timing.** Celerity: `created_at → finished_at` of the job (server clock; the client asks for the job every
  0.25 s, with `?wait=`, and its asking is not in the figure; it used to ask every 50 ms, which cost the web 1.8 ms of
  CPU per chunk on the cores the workers share). Bare Celery: from building the canvas to the last result's
  `date_done` (plain) or the last callback's `task-succeeded` event (canvas), in the bench process' clock, the same
  machine's. Chord
  completion: from the last header task's `task-sent` of the callback to its `task-succeeded`, captured the same way
  for both apps (each app's events travel on its own DB's channel).
- **Fairness and noise.** One job at a time on an idle broker (the bench waits until the queues and the `unacked`
  hash are empty), the sides rotating (A B C, B C A, C A B) so that drift hits all. Absolute figures move from run to
  run with whatever else the cores run; **ratios are taken within each repeat**, then the median. Every run also
  records the CPU seconds every process spent (`/proc/<pid>/stat`) and the commands Redis served (`INFO
  commandstats`), which other load on the shared cores disturbs far less than it does wall time.
- **Checked.** Every run's sum and count is verified on every side, and every Celerity item row is audited
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
Small chunks cost per chunk: a message and a task start for every chunk (two of each for bare Celery's canvas form,
one for Celerity and for the plain form), so time grows with the number of chunks. Large chunks leave processes
idle: with 2 bulk processes, a job of a few chunks cannot keep both busy and the last chunk runs alone. What Celerity
adds that no chunk size removes is per job (the API, `job_start` and its queue hop before any chunk runs, the
completion) and per item (one row inserted per item, which the physical-limit section prices): at thousands of items
per chunk, when the plain form's whole job takes a few milliseconds, that part is what the ratio shows.""",
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
    "anatomy": """\
`job_chunk_run` called in a child process with Django set up exactly as in a pool child (metrics written to a
multiprocess directory), against the bench stack's Postgres while nothing else of the bench runs, on chunks of a job
that has its rows; each step is a module-level function of `services/celerity/jobs/services/recording.py`, timed by
wrapping it for that process only, and every SQL statement and commit is timed at Django's cursor. This is the body
of the task: the worker's histogram (above) adds the task signals' handlers (the instrumentation section) and, under
load, the wait for a core.""",
    "anatomy_after": """\
Read with the CPU table below: a Celerity chunk's body is a few milliseconds, most of it waiting for Postgres: four
round trips, each a wake-up of a Postgres backend that competes for the same two cores. They are the `BEGIN` that
psycopg sends before a transaction's first statement (not seen by Django's cursor, so not in the round-trip table:
it is most of what the transaction step holds beyond its statement and commit), the recording statement, its
`COMMIT`, which waits for the WAL to reach the disk (`fsync` is on), and the completion check after the commit. The
bare task's body is microseconds, and its only I/O, after it, is one `SETEX` and `PUBLISH` of its result.""",
    "cpu": """\
CPU seconds each process spent during the overhead section's chunked runs, divided by the job's chunks (median over
the repeats): every process of the side that ran, each worker's parent apart from its pool processes, and the shared
servers. Another side's idle processes are left out; Redis and the bench process serve whichever side runs. The
kernel counts in ticks of 10 ms per process, so figures below about 0.05 ms per chunk are resolution, not cost.""",
    "commands": """\
The commands Redis served during the same runs, per chunk (median over the repeats). They include what every idle
worker of the other sides polls meanwhile (about one `BRPOP` a second each), a few per run.""",
    "knobs": """\
`task_track_started` costs the plain baseline a `SET` and a `PUBLISH` of the STARTED state before every task (Celerity's
chunk task ignores its result, so Celery skips it there); task events are a `PUBLISH` per state change, sent by the
worker's parent; the task-sent event is one more `PUBLISH` per message, paid by the publisher. Celerity turns all of
them on (`services/config/settings/base.py`) and runs with prefetch 1.""",
    "pg_limit": """\
How fast this machine's Postgres takes Celerity's item rows with nothing else of Celerity running: no Celery, no
messages, no items computed (`loadtests/benchmarks/pglimit.py`, in a child process with the services loaded). Each
writer is a process of its own with its own connection, writing its own job's rows, every batch in its own
transaction as every chunk is, with client-side binding as Django's psycopg backend does; each configuration runs for
a bounded time and every row is checked to be written once. RECORD is the recorder's own statement (it checks the
job, inserts the outcomes in index order and adds them to the chunk's row); the plain `INSERT … ON CONFLICT` inserts
the same 100 rows from an array and does nothing else. The writers and Postgres share the machine's two cores.""",
    "small_jobs": """\
A Celerity one-item job is three hops: the POST commits the job row and sends `job_start` to `default`, `job_start`
creates the chunk row and publishes the chunk to `bulk`, the chunk runs, records and finishes the job; and the client
learns the end only by asking. A bare `delay().get()` is one message and one result. These figures are issue #17's
"before": the dispatcher is meant to make a small job one hop and let a client wait without polling.""",
    "fairness": """\
Each case is a large job of a few seconds of simulated work on 2 processes and a 10-item job submitted 0.5 s after
it; times are each job's own (Celerity: `created_at → finished_at`; bare Celery: publish → the last result's
`date_done`), medians over the repeats. Both systems run a queue first in, first out: a small job on the same queue
waits for the large one. In the last case Celerity's small chunked job waits because its `job_start` is queued on
`default` behind the group's members, while a bare user's chunk goes straight to `bulk`: the platform's bookkeeping
shares a queue with users' per-item work (issue #17, item 5).""",
    "broker_memory": """\
Publishing runs far ahead of consuming on both sides (`job_start` sends a canvas of 200 chunks in a few tens of
milliseconds; the pool needs seconds to run them), so even while the pool runs, most of the job sits in Redis at
once, and the peak while it runs is about its whole footprint (with the `unacked` hash, the events and, for bare
Celery, the results on top). A pool that is busy or scaled down leaves all of it there: the paused figure, the job's
size in messages times the bytes of one, grows with the job without bound. The canvas form's messages carry every
item's arguments and the chain to follow, hence its larger footprint. Issue #17's windows are meant to bound both
figures by the window instead of the job.""",
    "peers": """\
`make bench PLAN=peers` (it installs `requirements/peers.txt` first) runs Dramatiq, RQ (with its default forking
worker and with `SimpleWorker`), Huey and procrastinate beside Celerity and bare Celery, each with 2 worker processes
on one queue, on the same Redis (a DB each) and Postgres (procrastinate's own database), the same chunk task and item
task (`loadtests/peers/`), every result checked. Each library is driven the way its documentation shows: Dramatiq's
`group` and its results middleware, RQ's `enqueue_many` and `latest_result`, Huey's task calls and results,
procrastinate's `batch_defer`. The guarantees are each library's defaults as its documentation and code give them:
what survives a broker or database restart, what happens to work whose worker dies, whether each item's outcome is
kept, and the serializer.""",
}
