"""The operator: one replica, Recreate, --standalone; its own ServiceAccount; a namespaced Role (and kopf's one
ClusterRole) that grant exactly the calls celerity_operator makes (kubeapi.RBAC_RULES, CLUSTER_RBAC_RULES), no
wildcard; a liveness probe and a metrics Service."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from celerity_operator import kubeapi
from tests.charts.rendering import REPO_ROOT, env_of, find, get, render_chart

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


OPERATOR_SRC = REPO_ROOT / "operator" / "src" / "celerity_operator"
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/namespaces/\{\}/(?P<plural>[^/]+)(?:/(?P<name>\{\}))?(?:/(?P<sub>[a-z]+))?$"
)
# What kopf itself does for a resource handler, per verb (kopf's docs, "Deployment: RBAC"): watch it, and patch it
# for its finalizer and progress annotations. kopf.event() posts an Event.
_KOPF_HANDLER_GRANTS = ("list", "watch", "patch")


def _template(node: ast.expr, assigned: dict[str, ast.expr]) -> str:
    """The path of an f-string (or of a name bound to one): kubeapi's constants filled in, other placeholders `{}`."""
    if isinstance(node, ast.Name):
        node = assigned[node.id]
    assert isinstance(node, ast.JoinedStr), ast.dump(node)
    constants = {"GROUP": kubeapi.GROUP, "VERSION": kubeapi.VERSION, "PLURAL": kubeapi.PLURAL}
    path = ""
    for part in node.values:
        if isinstance(part, ast.FormattedValue):
            path += constants.get(ast.unparse(part.value), "{}")
        else:
            path += str(ast.literal_eval(part))
    return path


def _code_grants() -> set[Grant]:
    """Every (apiGroup, resource, verb) the operator's code calls: KubeApi's requests, kopf's handlers and events."""
    grants: set[Grant] = set()
    verbs = {"PATCH": "patch", "POST": "create", "PUT": "update", "DELETE": "delete"}
    for source in sorted(OPERATOR_SRC.glob("*.py")):
        tree = ast.parse(source.read_text())
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef)]:
            assigned = {
                target.id: node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                if isinstance(call.func, ast.Attribute) and call.func.attr == "_request" and len(call.args) == 2:
                    method = ast.literal_eval(call.args[0])
                    path = _template(call.args[1], assigned)
                    match = _PATH.match(path)
                    assert match, path
                    resource = match["plural"] + (f"/{match['sub']}" if match["sub"] else "")
                    verb = verbs.get(method) or ("get" if match["name"] else "list")
                    grants.add((match["group"] or "", resource, verb))
                if ast.unparse(call.func) == "kopf.event":
                    grants.add(("", "events", "create"))
            for decorator in function.decorator_list:
                handler = isinstance(decorator, ast.Call) and [ast.unparse(a) for a in decorator.args][:3]
                if handler == ["GROUP", "VERSION", "PLURAL"]:  # a kopf handler or daemon of the WorkerPools
                    grants |= {(kubeapi.GROUP, kubeapi.PLURAL, v) for v in _KOPF_HANDLER_GRANTS}
    return grants


def test_rbac_rules_are_exactly_the_calls_in_the_operators_code() -> None:
    """The other half of "exactly": tests/operator checks every request a running operator sends is granted; this
    checks every grant has a call behind it, so nothing is granted just in case."""
    assert _code_grants() == _grants(kubeapi.RBAC_RULES)


def test_the_cluster_role_grants_only_kopfs_cluster_wide_needs() -> None:
    cluster_role = get(render_chart(), "ClusterRole", "celerity-celerity-operator")
    assert _grants(cluster_role["rules"]) == _grants(kubeapi.CLUSTER_RBAC_RULES)


def test_cluster_wide_mode_uses_one_cluster_role_with_both_sets_but_no_namespaces() -> None:
    """With --all-namespaces kopf never lists or watches namespaces (kopf/_core/reactor/observation.py skips them
    when cluster-wide), so that grant of CLUSTER_RBAC_RULES is left out."""
    objects = render_chart({"operator": {"clusterWide": True}})
    assert not find(objects, "Role")
    assert not find(objects, "RoleBinding")
    (cluster_role,) = find(objects, "ClusterRole")
    namespaces = {("", "namespaces", "list"), ("", "namespaces", "watch")}
    assert namespaces <= _grants(kubeapi.CLUSTER_RBAC_RULES)
    expected = _grants(kubeapi.RBAC_RULES) | _grants(kubeapi.CLUSTER_RBAC_RULES) - namespaces
    assert _grants(cluster_role["rules"]) == expected
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
    ]  # fmt: skip # a command line reads best as one


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
