"""The services tests' API client, job waiter and drain check, for the examples' jobs; the client tests' gunicorn,
for the client's example."""

from tests.client.conftest import token, web
from tests.services.conftest import api_client, drained, wait_for_job

__all__ = ["api_client", "drained", "token", "wait_for_job", "web"]
