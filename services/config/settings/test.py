"""Test settings: the test session (tests/conftest.py) provides DATABASE_URL and REDIS_URL for real servers."""

import importlib.util
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
os.environ.setdefault("CELERITY_API_TOKEN", "test-token")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from .base import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# The test suite's own job types (tests/services/jobs/testtypes.py), installed as a team installs its app, where the
# repository's root is importable: in the test session and the workers it starts (tests/conftest.py's stack_env).
try:
    _test_types = importlib.util.find_spec("tests.services.jobs.testtypes")
except ModuleNotFoundError:
    _test_types = None
if _test_types is not None:
    INSTALLED_APPS += ["tests.services.jobs.testtypes.TestTypesConfig"]  # noqa: F405
