"""A Python client for the Celerity jobs API, and the `celerity` command built on it (`celerity --help`).

    from celerity_client import Celerity

    with Celerity("http://127.0.0.1:8000", token) as celerity:
        submitted = celerity.submit("checksum", [{"text": "hello"}])
        job = celerity.wait(submitted.id, timeout=60)
        assert job.succeeded, job.error

It imports nothing of the platform: it speaks HTTP only (docs/api.md).
"""

from celerity_client.client import Celerity
from celerity_client.errors import (
    ApiError,
    BadRequest,
    CelerityError,
    ConfigError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    InvalidItem,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnexpectedAnswer,
    UnsupportedMediaType,
    WaitTimeout,
)
from celerity_client.models import FINISHED, ITEM_STATES, STATUSES, Item, Job, JobType, Progress, Submission
from celerity_client.ndjson import read_items
from celerity_client.transport import Retrying, RetryPolicy
from celerity_client.version import __version__

__all__ = [
    "FINISHED",
    "ITEM_STATES",
    "STATUSES",
    "ApiError",
    "BadRequest",
    "Celerity",
    "CelerityError",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "InvalidItem",
    "InvalidRequest",
    "Item",
    "Job",
    "JobType",
    "NotFound",
    "Progress",
    "RateLimited",
    "RetryPolicy",
    "Retrying",
    "ServerError",
    "Submission",
    "TooLarge",
    "Unauthorized",
    "Unavailable",
    "UnexpectedAnswer",
    "UnsupportedMediaType",
    "WaitTimeout",
    "__version__",
    "read_items",
]
