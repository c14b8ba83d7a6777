"""The prose of docs/benchmarks.md that does not change from run to run: how it is measured, and why the curves
have the shape they have (each explanation was checked against the code and the measurements it cites)."""

from __future__ import annotations

METHOD = """\
- **One machine, one Redis.** `make bench` starts a local Celerity stack (embedded Redis 6.2 and Postgres 16,
  gunicorn, worker pools `default` and `bulk` of 2 prefork processes each, autoscaling off) and, beside it, a bare
  Celery app (`loadtests/baseline/app.py`) with its own two pools of 2 processes on **the same Redis server**, in DB 3.
  Both apps have the same worker settings: JSON, `acks_late`, `reject_on_worker_lost`, prefetch 1, the same time
  limits and visibility timeout, task events on (`-E`, `task_send_sent_event`, `track_started`).
- **The same work.** An item squares its index with the same arguments (so the same message size). *Chunked*: a
  group of `chain(xstarmap(item, chunk), record)` per chunk, on `bulk`, as `services/celerity/jobs/workloads.py`
  builds it. *Chord*: `chord([item] * width, callback)` on `default`. What differs is Celerity: the API and its job
  row, `job_start` creating one Postgres row per item (in Postgres, `generate_series`) and publishing the canvas
  from a worker, each chunk's
  results written to Postgres in id order under row locks, progress rows, metrics in every task. The baseline's
  callbacks only sum what they are given.
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
**What the overhead is.** Per chunk, Celerity runs one extra transaction: lock the chunk's item rows in id order
(`SELECT … FOR UPDATE`), write their outcomes in one `UPDATE … FROM unnest()`, set the chunk's progress row, and ask
whether the job is complete. Per job it creates every item row up front and publishes the canvas from a worker
(`job_start`). Per task it records a few Prometheus samples in files (multiprocess mode). The per-task figures in
`bench.json` (`tasks.*.run_time_mean`) show where the time goes; on this machine, for 20,000 items in chunks of 100:
`job_start` runs about 1 s before the first chunk can start, and each chunk's recording task runs about 20 ms
beside the chunk's own 12 ms, on the same two processes. The metrics and signals cost microseconds per task. These
items do no work at all (a square), so this is the worst case: the overhead is fixed per chunk and per item, and
an item that costs 1 ms of real work makes a chunk of 100 cost 100 ms, against which the same 20 ms is a fifth.""",
    "ceiling": """\
A worker's kombu connection waits for each reply, so the round-trip figure is the one to compare a single consumer
with; pipelined figures are Redis' own ceiling. The Celery runs above drive Redis at a small fraction of either:
the broker is not what limits throughput on this machine; CPU for the prefork processes (and, for Celerity,
Postgres) is.""",
    "chunk_size": """\
Small chunks cost per chunk: a message, a starmap task and a recording task for every chunk, so time grows with
the number of chunks. Large chunks leave processes idle: with 2 bulk processes, a job of a few chunks cannot keep
both busy and the last chunk runs alone. The ratio falls as chunks grow: bare Celery's cost is per chunk
(messages, task starts) and all but vanishes, while part of Celerity's is per item and per job, which no chunk size
removes: every item row is created by `job_start` (about 0.2 s for these 10,000 items, before any chunk runs; see
the job-size table) and updated once by its chunk's recording task. At thousands of items per chunk that fixed part
is most of Celerity's time.""",
    "chord_width": """\
Bare Celery's chord on Redis keeps the header's results in a Redis list; each header task appends its result and
increments a counter, and the last one reads the whole list and publishes the callback with every result in its
arguments. The callback's message and its JSON decoding grow with the width. Celerity's callback then writes every
header result into Postgres, chunk by chunk (one transaction per 100 items), which is most of its callback time.""",
    "job_size": """\
Celerity's POST only inserts the job row and commits: it does not depend on the job's size. The size is paid later
in `job_start`, on a worker: all item rows and one row per chunk (created by Postgres itself), then building and
publishing the canvas. A bare-Celery caller pays that publishing cost in its own request before it can answer.
Nothing here grows faster than linearly: per item, `job_start` cost about 17-23 µs and bare Celery's build and
publish 4-6 µs from 10,000 to 1,000,000 items on this machine. Local slopes above 1 between neighbouring sizes come
from the smallest jobs, where a few milliseconds of fixed cost and scheduling noise dominate.""",
}
