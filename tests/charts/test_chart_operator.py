"""The operator: one replica, Recreate, --standalone; its own ServiceAccount; a namespaced Role (and kopf's one
ClusterRole) that grant exactly the calls celerity_operator makes (kubeapi.RBAC_RULES, CLUSTER_RBAC_RULES), no
wildcard; a liveness probe and a metrics Service."""

from __future__ import annotations

from typing import Any

import pytest

from celerity_operator import kubeapi
from tests.charts.rendering import env_of, find, get, render_chart

Grant = tuple[str, str, str]  # (apiGroup, resource, verb)


def _grants(rules: list[dict[str, Any]]) -> set[Grant]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def _operator(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return get(objects, "Deployment", "celerity-operator")


def test_the_role_grants_exactly_what_the_operator_calls() -> None:
    objects = render_chart()
    role = get(objects, "Role", "celerity-operator")
    assert role["metadata"]["namespace"] == "celerity"
    assert _grants(role["rules"]) == _grants(kubeapi.RBAC_RULES)


def test_the_cluster_role_grants_only_kopfs_cluster_wide_needs() -> None:
    cluster_role = get(render_chart(), "ClusterRole", "celerity-celerity-operator")
    assert _grants(cluster_role["rules"]) == _grants(kubeapi.CLUSTER_RBAC_RULES)


def test_cluster_wide_mode_uses_one_cluster_role_with_both_sets() -> None:
    objects = render_chart({"operator": {"clusterWide": True}})
    assert not find(objects, "Role")
    assert not find(objects, "RoleBinding")
    (cluster_role,) = find(objects, "ClusterRole")
    assert _grants(cluster_role["rules"]) == _grants(kubeapi.RBAC_RULES) | _grants(kubeapi.CLUSTER_RBAC_RULES)
    assert "--all-namespaces" in _operator(objects)["spec"]["template"]["spec"]["containers"][0]["command"]


@pytest.mark.parametrize("values", [{}, {"operator": {"clusterWide": True}}], ids=["namespaced", "cluster-wide"])
def test_no_wildcards_and_secrets_only_by_name(values: dict[str, Any]) -> None:
    objects = render_chart(values)
    for role in find(objects, "Role") + find(objects, "ClusterRole"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), (role["metadata"]["name"], rule)
            if "secrets" in rule["resources"]:
                assert rule["resourceNames"] == ["celerity-redis"]


def test_the_broker_secret_is_the_one_the_operator_may_read() -> None:
    objects = render_chart({**_external_redis(), "operator": {"extraBrokerSecrets": ["team-broker"]}})
    role = get(objects, "Role", "celerity-operator")
    (secrets,) = [r for r in role["rules"] if "secrets" in r["resources"]]
    assert secrets["resourceNames"] == ["my-broker", "team-broker"]
    for pool in find(objects, "WorkerPool"):
        assert pool["spec"]["broker"]["secretRef"] == {"name": "my-broker", "key": "url"}


def _external_redis() -> dict[str, Any]:
    return {
        "redis": {"enabled": False},
        "externalRedis": {"existingSecret": "my-broker", "existingSecretUrlKey": "url"},
    }


def test_bindings_grant_the_roles_to_the_operators_own_service_account() -> None:
    objects = render_chart()
    for binding, role_kind in (("RoleBinding", "Role"), ("ClusterRoleBinding", "ClusterRole")):
        (bound,) = find(objects, binding)
        assert bound["roleRef"]["kind"] == role_kind
        assert get(objects, role_kind, bound["roleRef"]["name"])
        assert bound["subjects"] == [{"kind": "ServiceAccount", "name": "celerity-operator", "namespace": "celerity"}]
    pod = _operator(objects)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "celerity-operator"
    assert get(objects, "ServiceAccount", "celerity-operator")


def test_one_standalone_replica_with_recreate() -> None:
    deployment = _operator(render_chart())
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [
        "kopf", "run", "--standalone", "-m", "celerity_operator", "--namespace=celerity",
        "--liveness=http://0.0.0.0:8080/healthz", "--log-format=json",
    ]  # fmt: skip


def test_liveness_probe_metrics_port_and_broker() -> None:
    objects = render_chart()
    (container,) = _operator(objects)["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"health": 8080, "metrics": 8081}
    env = env_of(container)
    assert env["CELERITY_OPERATOR_METRICS_PORT"]["value"] == "8081"
    assert env["CELERITY_OPERATOR_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "celerity-redis",
        "key": "redis-url",
    }
    service = get(objects, "Service", "celerity-operator-metrics")
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 8081, "targetPort": "metrics", "protocol": "TCP"}]


def test_rbac_changes_roll_the_operator() -> None:
    default = _operator(render_chart())["spec"]["template"]["metadata"]["annotations"]["checksum/rbac"]
    changed = _operator(render_chart({"operator": {"extraBrokerSecrets": ["x"]}}))
    assert changed["spec"]["template"]["metadata"]["annotations"]["checksum/rbac"] != default
