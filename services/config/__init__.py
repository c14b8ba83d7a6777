# Importing the Celery app here makes `shared_task`s bind to it whenever Django loads (manage.py, gunicorn, workers).
from .celery_app import app as celery_app

__all__ = ["celery_app"]
