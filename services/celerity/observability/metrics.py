"""Every Prometheus metric the services export, defined once (names and meaning: docs/metrics.md).

Processes run under gunicorn and Celery prefork, so the metrics are written in prometheus-client's multiprocess mode:
`PROMETHEUS_MULTIPROC_DIR` must be set before this module is first imported (see `celerity.observability.multiproc`).
"""

from prometheus_client import Counter, Gauge, Histogram

# Latency buckets from 1 ms to 10 min: tasks range from no-ops to long chunk work.
TASK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# Lock waits are short when the design is right; the buckets resolve sub-millisecond waits.
LOCK_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Queue waits outgrow run times under a backlog: the same buckets, up to an hour.
QUEUE_WAIT_BUCKETS = (*TASK_BUCKETS, 1800, 3600)

# --- tasks ------------------------------------------------------------------------------------------------------------
TASK_QUEUE_WAIT_SECONDS = Histogram(
    "celerity_task_queue_wait_seconds",
    "Publish to start of a task (excludes ETA/countdown delay).",
    ["task", "queue"],
    buckets=QUEUE_WAIT_BUCKETS,
)
TASK_RUNTIME_SECONDS = Histogram(
    "celerity_task_runtime_seconds", "Run time of a task body.", ["task", "queue"], buckets=TASK_BUCKETS
)
TASKS_TOTAL = Counter("celerity_tasks", "Finished tasks by outcome.", ["task", "queue", "outcome"])
WORKER_TASKS_ACTIVE = Gauge(
    "celerity_worker_tasks_active", "Tasks executing now.", ["queue"], multiprocess_mode="livesum"
)

# --- jobs -------------------------------------------------------------------------------------------------------------
JOB_DURATION_SECONDS = Histogram(
    "celerity_job_duration_seconds", "Job created to job finished.", ["workload"], buckets=TASK_BUCKETS
)
JOBS_TOTAL = Counter("celerity_jobs", "Finished jobs by final status.", ["workload", "status"])
ITEMS_PROCESSED_TOTAL = Counter("celerity_items_processed", "Items whose outcome was recorded.", ["workload"])

# --- locks and the database -------------------------------------------------------------------------------------------
LOCK_WAIT_SECONDS = Histogram(
    "celerity_lock_wait_seconds", "Time spent waiting to acquire a lock.", ["lock"], buckets=LOCK_BUCKETS
)
LOCK_ACQUIRED_TOTAL = Counter("celerity_lock_acquired", "Locks acquired.", ["lock"])
DB_RETRIES_TOTAL = Counter(
    "celerity_db_retries", "Transactions retried after a deadlock or serialization failure.", ["lock", "reason"]
)
DB_RETRIES_EXHAUSTED_TOTAL = Counter(
    "celerity_db_retries_exhausted", "Transactions that failed after the last retry.", ["lock", "reason"]
)

# --- web --------------------------------------------------------------------------------------------------------------
HTTP_REQUEST_DURATION_SECONDS = Histogram(
    "celerity_http_request_duration_seconds",
    "HTTP request latency.",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
)
HTTP_REQUESTS_TOTAL = Counter("celerity_http_requests", "HTTP requests.", ["method", "route", "status"])

# --- celery-exporter compatibility (danihodovic/celery-exporter names; hostname labels left to the scrape) ---------
_COMPAT = ["name", "queue_name"]
CELERY_TASK_SENT = Counter("celery_task_sent", "Tasks published.", _COMPAT)
CELERY_TASK_RECEIVED = Counter("celery_task_received", "Tasks received by a worker.", _COMPAT)
CELERY_TASK_STARTED = Counter("celery_task_started", "Tasks started.", _COMPAT)
CELERY_TASK_SUCCEEDED = Counter("celery_task_succeeded", "Tasks succeeded.", _COMPAT)
CELERY_TASK_FAILED = Counter("celery_task_failed", "Tasks failed.", [*_COMPAT, "exception"])
CELERY_TASK_RETRIED = Counter("celery_task_retried", "Tasks retried.", _COMPAT)
CELERY_TASK_REJECTED = Counter("celery_task_rejected", "Tasks rejected.", _COMPAT)
CELERY_TASK_REVOKED = Counter("celery_task_revoked", "Tasks revoked.", _COMPAT)
CELERY_TASK_RUNTIME = Histogram("celery_task_runtime", "Task run time, seconds.", _COMPAT, buckets=TASK_BUCKETS)
CELERY_TASK_QUEUE_WAIT_TIME = Histogram(
    "celery_task_queue_wait_time",
    "Publish to start of a task, seconds (excludes ETA/countdown delay).",
    _COMPAT,
    buckets=QUEUE_WAIT_BUCKETS,
)
# Per-worker and fleet gauges (celery_worker_up, celery_queue_length, ...) are computed at scrape time by the worker
# parent's collectors (celerity.observability.collector), not stored here.
