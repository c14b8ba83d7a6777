"""Celerity's autoscaling operator: scales worker Deployments on Celery queue depth, never losing a task.

`kopf run -m celerity_operator` imports this package, which registers the handlers.
"""

from celerity_operator import handlers as handlers
