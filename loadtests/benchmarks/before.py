"""The figures before issue #9's rewrite of the hot path, for the before/after table of docs/benchmarks.md.

Taken from docs/benchmarks.md as `make bench` wrote it on 2026-11-25 (default plan, 3 repeats, load average 0.0 to
4.0): then a chunk was a starmap task chained to a recording task of about 8 SQL round trips, and `job_start` created
every item row before publishing. Ratios are Celerity against bare Celery within the same run, as now.
"""

from __future__ import annotations

DATE = "2026-11-25"

CHUNKED_RATIO = 0.45  # items/s, 20,000 items in chunks of 100 (overhead section)
CHORD_TIME_RATIO = 1.12  # time, chord of 1,000 (overhead section)
CHUNK_SIZE_RATIOS = {10: 0.50, 30: 0.47, 100: 0.42, 300: 0.38, 1000: 0.35, 3000: 0.27}  # items/s, 10,000 items
CHORD_WIDTH_TIME_RATIOS = {10: 72 / 34, 100: 374 / 329, 1000: 3285 / 3326, 3000: 9863 / 9399, 10_000: 32.6 / 33.0}
CHORD_CALLBACK_MS = {10: (16, 3), 100: (19, 5), 1000: (67, 5), 3000: (200, 8), 10_000: (566, 27)}  # (Celerity, bare)
JOB_START_SECONDS = {100: 0.017, 1000: 0.025, 10_000: 0.176, 100_000: 2.286, 1_000_000: 20.8}
# Submit to first chunk: the chunks were published only after `job_start` had created every item row, so at least
# job_start's run (above); the first chunk's start itself was not measured then.
