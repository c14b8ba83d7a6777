"""The jobs app's task names, written once: the `tasks.py` decorators register them, and the canvases address them
by name, so the services never import the tasks module."""

from __future__ import annotations

ITEM = "celerity.jobs.item_run"  # a chord's header member (its result is the body's input)
ITEM_RUN = "celerity.jobs.job_item_run"  # a group member, or an item of a retry: runs and records one item
CHUNK_RUN = "celerity.jobs.job_chunk_run"  # a chunked, map or starmap chunk: runs and records its items
CHAIN_STEP = "celerity.jobs.chain_step"
CHUNK_RECORD = "celerity.jobs.job_chunk_record"  # a chain's recorder
CHORD_RECORD = "celerity.jobs.job_chord_record"  # a chord's body
JOB_START = "celerity.jobs.job_start"
JOB_FAIL = "celerity.jobs.job_fail"  # every job task's errback
