"""The recording statements, each one round trip: written in SQL because each must do in one statement what the ORM
would do in several (check the job, insert outcomes in index order, add them to the chunk rows, report back).

Table names and states come from the models; every value the caller gives is a bound parameter.
"""

from __future__ import annotations

from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus

JOBS, CHUNKS, ITEMS = Job._meta.db_table, JobChunk._meta.db_table, Item._meta.db_table
RUNNING, DONE, FAILED = JobStatus.RUNNING.value, int(ItemState.DONE), int(ItemState.FAILED)

# Outcomes of one chunk (`chunk` = its index) or of the whole job (`chunk` NULL, the chord's body), with the first
# value at the chunk's (or the job's) first item. Items are inserted in index order, so racing recorders of the same
# items queue instead of deadlocking; a chunk row grows only by the rows this very statement inserted. Returns
# (workload, status, items expected, items recorded, chunk rows to update, chunk rows updated); nothing is written
# when the job is not running or the count of values is wrong, and a missing chunk row shows as updated < touched.
RECORD = f"""
WITH job AS (
    SELECT workload, status, chunk_size, items FROM {JOBS} WHERE id = %(job)s::uuid
), span AS (
    SELECT coalesce(%(chunk)s::int * chunk_size, 0) AS first,
           CASE WHEN %(chunk)s::int IS NULL THEN items
                ELSE least(chunk_size, items - %(chunk)s::int * chunk_size) END AS expected
    FROM job
), written AS (
    INSERT INTO {ITEMS} (job_id, index, state, value, writes)
    SELECT %(job)s::uuid, span.first + v.n - 1, CASE WHEN v.value IS NULL THEN {FAILED} ELSE {DONE} END, v.value, 1
    FROM job, span, unnest(%(values)s::bigint[]) WITH ORDINALITY AS v(value, n)
    WHERE job.status = '{RUNNING}' AND span.expected = cardinality(%(values)s::bigint[])
    ORDER BY v.n
    ON CONFLICT (job_id, index) DO NOTHING
    RETURNING index, state, value
), per_chunk AS (
    SELECT w.index / job.chunk_size AS k, count(*) FILTER (WHERE w.state = {DONE}) AS done,
           count(*) FILTER (WHERE w.state = {FAILED}) AS failed,
           coalesce(sum(w.value) FILTER (WHERE w.state = {DONE}), 0) AS total
    FROM written AS w, job GROUP BY 1
), updated AS (
    UPDATE {CHUNKS} AS c
    SET done = c.done + p.done, failed = c.failed + p.failed, total = c.total + p.total,
        complete = c.done + p.done + c.failed + p.failed = c.stop - c.start
    FROM per_chunk AS p WHERE c.job_id = %(job)s::uuid AND c.index = p.k
    RETURNING 1
)
SELECT job.workload, job.status, span.expected,
       (SELECT coalesce(sum(done + failed), 0) FROM per_chunk)::int,
       (SELECT count(*) FROM per_chunk)::int, (SELECT count(*) FROM updated)::int
FROM job, span
"""  # noqa: S608 - table names and states from the models; values are bound parameters

# One group member's outcome, only while the job runs. Returns (workload, chunk size, rows inserted: 0 or 1), or no
# row when the job is not running.
ITEM_RECORD = f"""
WITH job AS (
    SELECT workload, chunk_size FROM {JOBS} WHERE id = %(job)s::uuid AND status = '{RUNNING}'
), written AS (
    INSERT INTO {ITEMS} (job_id, index, state, value, writes)
    SELECT %(job)s::uuid, %(index)s::int, CASE WHEN %(value)s::bigint IS NULL THEN {FAILED} ELSE {DONE} END,
           %(value)s::bigint, 1
    FROM job
    ON CONFLICT (job_id, index) DO NOTHING
    RETURNING 1
)
SELECT workload, chunk_size, (SELECT count(*) FROM written)::int FROM job
"""  # noqa: S608 - table names and states from the models; values are bound parameters

# SET a chunk row from its item rows once every item of the chunk has one (any number of members may, and they
# agree: nothing is added to another's count). Returns a row when the chunk is complete.
CHUNK_CLOSE = f"""
UPDATE {CHUNKS} AS c SET done = agg.done, failed = agg.failed, total = agg.total, complete = true
FROM (
    SELECT count(*) AS n, count(*) FILTER (WHERE item.state = {DONE}) AS done,
           count(*) FILTER (WHERE item.state = {FAILED}) AS failed,
           coalesce(sum(item.value) FILTER (WHERE item.state = {DONE}), 0) AS total
    FROM {CHUNKS} AS span JOIN {ITEMS} AS item
        ON item.job_id = span.job_id AND item.index >= span.start AND item.index < span.stop
    WHERE span.job_id = %(job)s::uuid AND span.index = %(chunk)s::int
) AS agg
WHERE c.job_id = %(job)s::uuid AND c.index = %(chunk)s::int AND agg.n = c.stop - c.start
RETURNING 1
"""  # noqa: S608 - table names and states from the models; values are bound parameters
