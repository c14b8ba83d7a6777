"""The services tests' API client, job waiter and drain check, for the examples' jobs."""

from tests.services.conftest import api_client, drained, wait_for_job

__all__ = ["api_client", "drained", "wait_for_job"]
