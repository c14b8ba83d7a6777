"""The operator tests' cluster (kmock dressed as Kubernetes, with the RBAC check at teardown), for the metrics
contract, which runs the operator too."""

from tests.operator.conftest import cluster, generate_names  # noqa: F401 - fixtures, used by name
