"""Celerity's autoscaling operator: scales worker Deployments on Celery queue depth, never losing a task."""
