"""A bare Celery app doing Celerity's work without Celerity: the baseline `make bench` measures against."""
