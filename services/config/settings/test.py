"""Test settings: the test session (tests/conftest.py) provides DATABASE_URL and REDIS_URL for real servers."""

import importlib.util

from .base import *  # noqa: F403

SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-not-secret")  # noqa: F405
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["testserver", "127.0.0.1", "localhost"])  # noqa: F405
CELERITY_API_TOKEN = env("CELERITY_API_TOKEN", default="test-token")  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is not on the path
        return False


# The test suite's own job types (tests/services/jobs/testtypes.py) and the examples app (examples/), installed as a
# team installs its app, where they are importable: in the test session and the workers it starts (tests/conftest.py's
# stack_env puts the repository's root and examples/ on PYTHONPATH). Other processes run without them.
if _importable("tests.services.jobs.testtypes"):
    INSTALLED_APPS += ["tests.services.jobs.testtypes.TestTypesConfig"]  # noqa: F405
if _importable("celerity_examples") and "celerity_examples" not in INSTALLED_APPS:
    INSTALLED_APPS += ["celerity_examples"]
