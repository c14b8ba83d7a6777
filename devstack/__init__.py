"""The local stack: embedded Redis and Postgres from wheels, and the platform's processes, for `make run` and tests.

Nothing here is deployed; the chart replaces all of it in Kubernetes.
"""
