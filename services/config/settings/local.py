"""Laptop settings: find the stack that `make run` started (.run/stack.env) unless the environment says otherwise."""

import os
from pathlib import Path

import environ

_RUN_DIR = Path(os.environ.get("CELERITY_RUN_DIR") or Path(__file__).resolve().parents[3] / ".run")
_STACK_ENV = _RUN_DIR / "stack.env"
if _STACK_ENV.exists():
    # Explicit environment variables win; the stack file only fills the gaps (so `manage.py shell`,
    # `celery inspect` and `make loadtest` find the running stack with no setup).
    environ.Env.read_env(str(_STACK_ENV), overwrite=False)

os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-not-secret")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

from .base import *  # noqa: E402,F403

DEBUG = env.bool("DJANGO_DEBUG", default=False)  # noqa: F405

# Serve the API docs' static files straight from the installed apps (no collectstatic step on a laptop).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
