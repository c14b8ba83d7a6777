"""Settings shared by every environment. Every value comes from the environment, read here and in the module of each
environment (cookiecutter-django): the secrets (`DJANGO_SECRET_KEY`, `CELERITY_API_TOKEN`) are read there, with a
default on a laptop and in tests, and none in production."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]  # services/
REPO_ROOT = BASE_DIR.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "ninja",
    "celerity.jobs",
    "celerity.demo",
    # Apps of your own, each registering its job types in its AppConfig.ready() (docs/job-types.md); the web and
    # every worker must list the same ones.
    *env.list("CELERITY_EXTRA_APPS", default=[]),
]

MIDDLEWARE = [
    "celerity.observability.http.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    # X-Frame-Options: DENY. /api/docs is an HTML page, and no page of Celerity is meant to be framed.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "celerity.jobs.middleware.JsonErrorsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

DATABASES = {"default": env.db("DATABASE_URL")}
# Postgres already runs at READ COMMITTED; deadlocks are solved by lock order, not isolation (docs/concurrency.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Web requests never wait on a long transaction (docs/reliability.md): gunicorn sets CELERITY_WEB=1, so only the web
# process gets these; a request over them answers 503. Workers and the reconciler run without (a million-row start).
if env.bool("CELERITY_WEB", default=False):
    _timeouts = (
        f"-c statement_timeout={env.int('CELERITY_WEB_STATEMENT_TIMEOUT_MS', default=5000)} "
        f"-c lock_timeout={env.int('CELERITY_WEB_LOCK_TIMEOUT_MS', default=2000)}"
    )
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} {_timeouts}".strip()
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("CELERITY_WEB_CONNECT_TIMEOUT", default=3))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# Requests larger than this are refused with a 413 JSON error before any parsing. Inline items count towards it:
# larger inputs go through the streamed upload (docs/api.md).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("CELERITY_MAX_BODY_BYTES", default=1024 * 1024)

# --- Celerity -----------------------------------------------------------------------------------------------------
CELERITY_MAX_ITEMS = env.int("CELERITY_MAX_ITEMS", default=1_000_000)
# Items a POST /api/jobs may carry inline (`"items": [...]`), each validated against its job type's schema.
CELERITY_MAX_INLINE_ITEMS = env.int("CELERITY_MAX_INLINE_ITEMS", default=10_000)
# Items a streamed upload (POST /api/jobs/upload, NDJSON) may carry; each line is at most CELERITY_MAX_BODY_BYTES.
CELERITY_MAX_UPLOAD_ITEMS = env.int("CELERITY_MAX_UPLOAD_ITEMS", default=1_000_000)
# Queues a job may name (`queue` in POST /api/jobs): those some worker pool consumes, or the job would never run.
CELERITY_QUEUES = env.list("CELERITY_QUEUES", default=["default", "bulk"])
# Which queue (so which worker pool) runs which job type's items, overriding the type's own `queue`: NAME=QUEUE,...
# (the chart's config.jobTypeQueues). A job's request may still name its own queue.
CELERITY_JOB_TYPE_QUEUES = env.dict("CELERITY_JOB_TYPE_QUEUES", default={})
CELERITY_HEARTBEAT_INTERVAL = env.float("CELERITY_HEARTBEAT_INTERVAL", default=5.0)
CELERITY_POOL = env("CELERITY_POOL", default="")
CELERITY_WORKER_METRICS_PORT = env.int("CELERITY_WORKER_METRICS_PORT", default=9808)
# Seconds a worker given SIGTERM waits for its running tasks before handing them back to the queue; 0 waits for them
# (the task time limit bounds that). The chart sets it a little under the pods' grace period (docs/reliability.md).
CELERITY_WORKER_DRAIN_TIMEOUT = env.float("CELERITY_WORKER_DRAIN_TIMEOUT", default=0.0)
REDIS_URL = env("REDIS_URL")

# --- Celery (docs/reliability.md explains each choice) ---------------------------------------------------------------
_time_limit = env.int("CELERITY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = env("REDIS_RESULT_URL", default=REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A lost worker's task is retried (max_retries, default_retry_delay) instead of requeued forever: bounded redelivery.
CELERY_TASK_RETRY_ON_WORKER_LOST = True
# Celery's default_retry_delay is 180 s: a chunk whose process was OOM-killed would stall its job for three minutes.
CELERY_TASK_ANNOTATIONS = {"*": {"default_retry_delay": env.float("CELERITY_WORKER_LOST_RETRY_DELAY", default=5.0)}}
# Publishing rides out a short broker restart instead of cutting a job's publish off half-way (about 15 s; the
# reconciler covers longer). The API's own publish (job_start at submit) passes a shorter policy: it never waits.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": env.int("CELERITY_PUBLISH_RETRIES", default=10),
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 2.0,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERITY_PREFETCH_MULTIPLIER", default=1)
CELERY_TASK_TIME_LIMIT = _time_limit
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERITY_TASK_SOFT_TIME_LIMIT", default=max(_time_limit - 30, 1))
_visibility_timeout = env.int("CELERITY_VISIBILITY_TIMEOUT", default=2 * _time_limit + 60)
# kombu sweeps the `unacked` hash for messages past the timeout every 10 s x every 10th call by default (~100 s late);
# one scan every 10 s bounds the redelivery of a dead worker's messages to the timeout + 10 s (docs/reliability.md).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _visibility_timeout,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
# The reconciler (docs/reliability.md#the-reconciler): a job without progress for this long is re-driven. Above the
# visibility timeout, so a message merely held by a lost worker has been handed back (and would have run) by then.
CELERITY_RECONCILE_BOUND = env.float("CELERITY_RECONCILE_BOUND", default=_visibility_timeout + 60)
CELERITY_RECONCILE_INTERVAL = env.float("CELERITY_RECONCILE_INTERVAL", default=15.0)
CELERITY_RECONCILE_MAX_REDRIVES = env.int("CELERITY_RECONCILE_MAX_REDRIVES", default=3)
CELERITY_RECONCILER_PORT = env.int("CELERITY_RECONCILER_PORT", default=9810)
CELERY_RESULT_EXPIRES = env.int("CELERITY_RESULT_EXPIRES", default=86400)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# SIGTERM is Celery's warm shutdown: stop consuming, finish the running tasks, return the prefetched ones. The chart's
# grace period covers the task time limit, so that is enough. Celery's soft shutdown (REMAP_SIGTERM=SIGQUIT) sleeps
# the whole timeout even when the tasks finish early, so it is opt-in, for grace periods shorter than the tasks.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERITY_SOFT_SHUTDOWN_TIMEOUT", default=0.0)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up closes the database connection before and after every task unless this is set; it then
# closes it every REUSE_MAX tasks. Connections follow CONN_MAX_AGE instead (celerity/db/connections.py).
CELERY_DB_REUSE_MAX = env.int("CELERITY_DB_REUSE_MAX", default=10_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}
