"""Laptop settings: find the stack that `make run` started (.run/stack.env) unless the environment says otherwise."""

import os
from pathlib import Path

import environ

# Read before `from .base import *`, not after: base reads DATABASE_URL and REDIS_URL, which have no default and which
# this file provides. Like cookiecutter-django's `.env` files (read by its base.py before any value), it fills only the
# variables not set already: explicit environment variables win (so `manage.py shell`, `celery inspect` and
# `make loadtest` find the running stack with no setup).
_RUN_DIR = Path(os.environ.get("CELERITY_RUN_DIR") or Path(__file__).resolve().parents[3] / ".run")
_STACK_ENV = _RUN_DIR / "stack.env"
if _STACK_ENV.exists():
    environ.Env.read_env(str(_STACK_ENV), overwrite=False)

from .base import *  # noqa: E402,F403

DEBUG = env.bool("DJANGO_DEBUG", default=False)  # noqa: F405
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")  # noqa: F405
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])  # noqa: F405
CELERITY_API_TOKEN = env("CELERITY_API_TOKEN")  # noqa: F405  # `make run` writes it into .run/stack.env

# Serve the API docs' static files straight from the installed apps (no collectstatic step on a laptop).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
