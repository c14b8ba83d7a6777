"""Test settings: the test session (tests/conftest.py) provides DATABASE_URL and REDIS_URL for real servers."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("CELERITY_API_TOKEN", "test-token")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from .base import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
