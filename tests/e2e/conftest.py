"""End-to-end tests run the whole platform: real servers, workers and web, and the operator under kopf against the
operator tests' cluster (kmock dressed as Kubernetes, with the RBAC check at teardown)."""

from tests.operator.conftest import cluster, generate_names  # noqa: F401 - fixtures, used by name
