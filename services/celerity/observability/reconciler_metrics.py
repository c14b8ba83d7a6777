"""The reconciler's metrics (docs/metrics.md). A module of their own, imported only by the reconciler's process: the
workers and the web never create these series, and their multiprocess directories never hold them (an unlabelled
metric writes its file when it is defined, before a worker wipes its directory)."""

from prometheus_client import Counter, Gauge

RECONCILER_JOBS_REDRIVEN_TOTAL = Counter(
    "celerity_reconciler_jobs_redriven", "Jobs re-driven after no progress for the bound.", ["action"]
)
RECONCILER_CHUNKS_REPUBLISHED_TOTAL = Counter(
    "celerity_reconciler_chunks_republished", "Open chunks whose work was published again."
)
RECONCILER_JOBS_FAILED_TOTAL = Counter(
    "celerity_reconciler_jobs_failed", "Jobs failed because they made no progress after the last re-drive."
)
RECONCILER_JOBS_STUCK = Gauge(
    "celerity_reconciler_jobs_stuck",
    "Unfinished jobs without progress for longer than the bound, at the last pass.",
    multiprocess_mode="livemax",
)
RECONCILER_LAST_RUN_TIMESTAMP_SECONDS = Gauge(
    "celerity_reconciler_last_run_timestamp_seconds",
    "Unix time of the last completed pass.",
    multiprocess_mode="livemax",
)
RECONCILER_BOUND_SECONDS = Gauge(
    "celerity_reconciler_bound_seconds",
    "Seconds without progress after which a job is re-driven.",
    multiprocess_mode="livemax",
)
