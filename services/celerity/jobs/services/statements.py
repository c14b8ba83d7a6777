"""The recording statements, each one round trip: written in SQL because each must do in one statement what the ORM
would do in several (check the job, insert outcomes in index order, add them to the chunk rows, report back).

Table names and states come from the models; every value the caller gives is a bound parameter.
"""

from __future__ import annotations

from celerity.jobs.models import Item, ItemState, Job, JobChunk, JobStatus

JOBS, CHUNKS, ITEMS = Job._meta.db_table, JobChunk._meta.db_table, Item._meta.db_table
RUNNING, DONE, FAILED = JobStatus.RUNNING.value, int(ItemState.DONE), int(ItemState.FAILED)
PENDING = int(ItemState.PENDING)

# An outcome is written where the item has none, or where a retry asked for one (state PENDING); anywhere else the
# conflict leaves the row alone and the statement does not return it, so it is not counted.
UPSERT = f"""
    ON CONFLICT (job_id, index) DO UPDATE
    SET state = excluded.state, output = excluded.output, error = excluded.error,
        attempts = item.attempts + 1, writes = item.writes + 1
    WHERE item.state = {PENDING}
"""  # noqa: S608 - no value in it: table columns and a state from the models
# The chunk's `total`: Σ of the numeric outputs (rounded), the sum the demo squares report; NULL for other outputs.
NUMBER = "CASE WHEN jsonb_typeof({0}.output) = 'number' THEN round(({0}.output)::numeric) END"

# What a statement's `written` CTE (RETURNING index, state, output) adds to each chunk row it touched.
PER_CHUNK = f"""per_chunk AS (
    SELECT w.index / job.chunk_size AS k, count(*) FILTER (WHERE w.state = {DONE}) AS done,
           count(*) FILTER (WHERE w.state = {FAILED}) AS failed,
           coalesce(sum({NUMBER.format("w")}) FILTER (WHERE w.state = {DONE}), 0) AS total
    FROM written AS w, job GROUP BY 1
)"""  # noqa: S608 - no value in it: columns and states from the models

# What a chunk row (`c`) gains from its `per_chunk` sums (`p`): its counts, and `complete` once every item has one.
CHUNK_ADD = """SET done = c.done + p.done, failed = c.failed + p.failed, total = c.total + p.total,
        complete = c.done + p.done + c.failed + p.failed = c.stop - c.start"""

# Outcomes of one chunk (`chunk` = its index), the first at the chunk's first item: `outputs`, one JSON array (one
# encoding per chunk, not per item), and `errors`, NULL where the item succeeded (ROWS FROM pads a shorter array with
# NULLs: no errors, no array).
# Items are inserted in index order, so racing recorders of the same items queue instead of deadlocking; a chunk row
# grows only by the rows this very statement wrote. Returns (job type, workload, status, items expected, items
# recorded, of which failed, chunk rows to update, chunk rows updated); nothing is written when the job is not running
# or the count of outcomes is wrong, and a missing chunk row shows as updated < touched.
RECORD = f"""
WITH job AS (
    SELECT job_type, workload, status, chunk_size, items FROM {JOBS} WHERE id = %(job)s::uuid
), span AS (
    SELECT %(chunk)s::int * chunk_size AS first, least(chunk_size, items - %(chunk)s::int * chunk_size) AS expected
    FROM job
), written AS (
    INSERT INTO {ITEMS} AS item (job_id, index, state, output, error, attempts, writes)
    SELECT %(job)s::uuid, span.first + v.n - 1, CASE WHEN v.error IS NULL THEN {DONE} ELSE {FAILED} END,
           CASE WHEN v.error IS NULL THEN v.output END, coalesce(v.error, ''), 1, 1
    FROM job, span,
         ROWS FROM (jsonb_array_elements(%(outputs)s::jsonb), unnest(%(errors)s::text[])) WITH ORDINALITY
             AS v(output, error, n)
    WHERE job.status = '{RUNNING}' AND span.expected = jsonb_array_length(%(outputs)s::jsonb)
    ORDER BY v.n
    {UPSERT}
    RETURNING index, state, output
), {PER_CHUNK}, updated AS (
    UPDATE {CHUNKS} AS c
    {CHUNK_ADD}
    FROM per_chunk AS p WHERE c.job_id = %(job)s::uuid AND c.index = p.k
    RETURNING 1
)
SELECT job.job_type, job.workload, job.status, span.expected,
       (SELECT coalesce(sum(done + failed), 0) FROM per_chunk)::int,
       (SELECT coalesce(sum(failed), 0) FROM per_chunk)::int,
       (SELECT count(*) FROM per_chunk)::int, (SELECT count(*) FROM updated)::int
FROM job, span
"""  # noqa: S608 - table names and states from the models; values are bound parameters

# One group member's outcome, only while the job runs. Returns (job type, workload, chunk size, rows written: 0 or 1,
# of which failed), or no row when the job is not running.
ITEM_RECORD = f"""
WITH job AS (
    SELECT job_type, workload, chunk_size FROM {JOBS} WHERE id = %(job)s::uuid AND status = '{RUNNING}'
), written AS (
    INSERT INTO {ITEMS} AS item (job_id, index, state, output, error, attempts, writes)
    SELECT %(job)s::uuid, %(index)s::int, CASE WHEN %(error)s::text IS NULL THEN {DONE} ELSE {FAILED} END,
           %(output)s::jsonb, coalesce(%(error)s::text, ''), 1, 1
    FROM job
    {UPSERT}
    RETURNING item.state = {FAILED} AS failed
)
SELECT job_type, workload, chunk_size, (SELECT count(*) FROM written)::int,
       (SELECT count(*) FROM written WHERE failed)::int FROM job
"""  # noqa: S608 - table names and states from the models; values are bound parameters

# SET a chunk row from its item rows once every item of the chunk has one (any number of members may, and they
# agree: nothing is added to another's count). Returns a row when the chunk is complete.
CHUNK_CLOSE = f"""
UPDATE {CHUNKS} AS c SET done = agg.done, failed = agg.failed, total = agg.total, complete = true
FROM (
    SELECT count(*) FILTER (WHERE item.state <> {PENDING}) AS n,
           count(*) FILTER (WHERE item.state = {DONE}) AS done,
           count(*) FILTER (WHERE item.state = {FAILED}) AS failed,
           coalesce(sum({NUMBER.format("item")}) FILTER (WHERE item.state = {DONE}), 0) AS total
    FROM {CHUNKS} AS span JOIN {ITEMS} AS item
        ON item.job_id = span.job_id AND item.index >= span.start AND item.index < span.stop
    WHERE span.job_id = %(job)s::uuid AND span.index = %(chunk)s::int
) AS agg
WHERE c.job_id = %(job)s::uuid AND c.index = %(chunk)s::int AND agg.n = c.stop - c.start
RETURNING 1
"""  # noqa: S608 - table names and states from the models; values are bound parameters

# A chord's body, before it closes the job: the indexes without an outcome, looked up only in the chunks that are not
# complete, while the job runs. Returns (status, items expected, those indexes, chunk rows missing).
CHORD_MISSING = f"""
WITH job AS (
    SELECT status, items, chunk_size FROM {JOBS} WHERE id = %(job)s::uuid
), missing AS (
    SELECT i FROM job, {CHUNKS} AS c CROSS JOIN LATERAL generate_series(c.start, c.stop - 1) AS i
    WHERE job.status = '{RUNNING}' AND c.job_id = %(job)s::uuid AND NOT c.complete
      AND NOT EXISTS (SELECT 1 FROM {ITEMS} AS item WHERE item.job_id = %(job)s::uuid AND item.index = i)
)
SELECT job.status, job.items, (SELECT coalesce(array_agg(i ORDER BY i), '{{}}') FROM missing),
       (job.items + job.chunk_size - 1) / job.chunk_size
           - (SELECT count(*) FROM {CHUNKS} AS c WHERE c.job_id = %(job)s::uuid)::int
FROM job
"""  # noqa: S608 - table names and states from the models; values are bound parameters

# Outcomes of some of a job's items, any indexes (a chord's members, buffered by one worker process, or the ones its
# body found missing): inserted in index order, only while the job runs, and added to their chunk rows, which are
# locked in index order (racing writers queue on the first row they share, as RECORD's do). Only rows that do not
# exist are written (a chord's first run creates them all; a retry resets rows to PENDING and runs other tasks), so a
# buffer written late, after its job failed and was retried, cannot overwrite a retried item. Returns (job type,
# workload, rows written, of which failed), or no row when the job is not running. (A data-modifying CTE runs
# whether or not the query reads it: `updated` does its work unread.)
MEMBERS_RECORD = f"""
WITH job AS (
    SELECT job_type, workload, chunk_size FROM {JOBS} WHERE id = %(job)s::uuid AND status = '{RUNNING}'
), written AS (
    INSERT INTO {ITEMS} AS item (job_id, index, state, output, error, attempts, writes)
    SELECT %(job)s::uuid, v.index, CASE WHEN v.error IS NULL THEN {DONE} ELSE {FAILED} END,
           CASE WHEN v.error IS NULL THEN v.output END, coalesce(v.error, ''), 1, 1
    FROM job, ROWS FROM (unnest(%(indexes)s::int[]), jsonb_array_elements(%(outputs)s::jsonb),
                         unnest(%(errors)s::text[])) AS v(index, output, error)
    ORDER BY v.index
    ON CONFLICT (job_id, index) DO NOTHING
    RETURNING index, state, output
), {PER_CHUNK}, locked AS (
    SELECT c.index FROM {CHUNKS} AS c
    WHERE c.job_id = %(job)s::uuid AND c.index IN (SELECT k FROM per_chunk)
    ORDER BY c.index FOR UPDATE
), updated AS (
    UPDATE {CHUNKS} AS c
    {CHUNK_ADD}
    FROM per_chunk AS p JOIN locked ON locked.index = p.k
    WHERE c.job_id = %(job)s::uuid AND c.index = p.k
    RETURNING 1
)
SELECT job_type, workload, (SELECT coalesce(sum(done + failed), 0) FROM per_chunk)::int,
       (SELECT coalesce(sum(failed), 0) FROM per_chunk)::int
FROM job
"""  # noqa: S608 - table names and states from the models; values are bound parameters
