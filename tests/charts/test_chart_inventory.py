"""The default install renders exactly the expected objects, each feature adds exactly its own, and a disabled
feature renders nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.rendering import ci_values, inventory, render_chart

DEFAULT_INVENTORY = {
    ("ServiceAccount", "celerity"),
    ("ServiceAccount", "celerity-operator"),
    ("Secret", "celerity-app"),
    ("Secret", "celerity-redis"),
    ("Secret", "celerity-postgresql"),
    ("ConfigMap", "celerity-config"),
    ("ConfigMap", "celerity-redis"),
    ("Service", "celerity-web"),
    ("Service", "celerity-operator-metrics"),
    ("Service", "celerity-redis"),
    ("Service", "celerity-redis-headless"),
    ("Service", "celerity-postgresql"),
    ("Service", "celerity-postgresql-headless"),
    ("Deployment", "celerity-web"),
    ("Deployment", "celerity-worker-default"),
    ("Deployment", "celerity-worker-bulk"),
    ("Deployment", "celerity-operator"),
    ("Deployment", "celerity-reconciler"),
    ("StatefulSet", "celerity-redis"),
    ("StatefulSet", "celerity-postgresql"),
    ("WorkerPool", "default"),
    ("WorkerPool", "bulk"),
    ("Role", "celerity-operator"),
    ("RoleBinding", "celerity-operator"),
    ("ClusterRole", "celerity-celerity-operator"),
    ("ClusterRoleBinding", "celerity-celerity-operator"),
    ("Job", "celerity-migrate"),
}
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}


def _kinds(objects: list[dict[str, Any]]) -> set[str]:
    return {o["kind"] for o in objects}


def test_default_inventory_is_exact() -> None:
    objects = render_chart()
    assert len(objects) == len(DEFAULT_INVENTORY)
    assert inventory(objects) == DEFAULT_INVENTORY


def test_monitoring_adds_monitors_rules_and_dashboards() -> None:
    added = inventory(render_chart(ci_values("monitoring-values.yaml"))) - DEFAULT_INVENTORY
    assert added == {
        ("ServiceMonitor", "celerity-web"),
        ("PodMonitor", "celerity-workers"),
        ("ServiceMonitor", "celerity-operator"),
        ("PodMonitor", "celerity-reconciler"),
        ("PrometheusRule", "celerity"),
        ("ConfigMap", "celerity-dashboard-overview"),
        ("ConfigMap", "celerity-dashboard-tasks"),
        ("ConfigMap", "celerity-dashboard-autoscaling"),
        ("ConfigMap", "celerity-dashboard-locks"),
        ("ConfigMap", "celerity-dashboard-web"),
    }


def test_network_policies_cover_every_component() -> None:
    objects = render_chart(ci_values("netpol-values.yaml"))
    policies = {o["metadata"]["name"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert policies == {
        "celerity-web",
        "celerity-workers",
        "celerity-operator",
        "celerity-reconciler",
        "celerity-redis",
        "celerity-postgresql",
    }
    added = inventory(objects) - DEFAULT_INVENTORY
    assert {k for k, _ in added} == {"NetworkPolicy", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler"}


def test_external_services_render_no_redis_postgres_or_chart_secrets() -> None:
    objects = render_chart(ci_values("external-values.yaml"))
    names = {name for _, name in inventory(objects)}
    assert not {n for n in names if "redis" in n or "postgresql" in n}
    assert not [o for o in objects if o["kind"] == "Secret"]  # every secret is the user's own
    assert not _kinds(objects) & {"StatefulSet", "PersistentVolumeClaim"}


@pytest.mark.parametrize(
    ("values", "absent"),
    [
        ({}, MONITORING_KINDS | {"NetworkPolicy", "Ingress", "PodDisruptionBudget", "HorizontalPodAutoscaler"}),
        ({"monitoring": {"monitors": {"enabled": True}}}, {"PrometheusRule"}),
        ({"monitoring": {"prometheusRule": {"enabled": True}}}, {"ServiceMonitor", "PodMonitor"}),
        ({"migrations": {"enabled": False}}, {"Job"}),
        ({"redis": {"enabled": False}, "externalRedis": {"url": "redis://r:6379/0"}}, {"StatefulSet/celerity-redis"}),
    ],
    ids=["defaults", "monitors-only", "rules-only", "no-migrations", "external-redis"],
)
def test_disabled_features_render_nothing(values: dict[str, Any], absent: set[str]) -> None:
    objects = render_chart(values)
    rendered = _kinds(objects) | {f"{o['kind']}/{o['metadata']['name']}" for o in objects}
    assert not rendered & absent


def test_dashboards_off_renders_no_dashboard_configmaps() -> None:
    values = {"monitoring": {"monitors": {"enabled": True}, "prometheusRule": {"enabled": True}}}
    assert not [n for k, n in inventory(render_chart(values)) if k == "ConfigMap" and "dashboard" in n]


def test_operator_disabled_renders_no_operator_objects_but_keeps_the_workerpools() -> None:
    objects = render_chart({"operator": {"enabled": False}, "monitoring": {"monitors": {"enabled": True}}})
    assert not [name for _, name in inventory(objects) if "operator" in name]
    assert not _kinds(objects) & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    assert {o["metadata"]["name"] for o in objects if o["kind"] == "WorkerPool"} == {"default", "bulk"}


def test_a_disabled_pool_renders_nothing() -> None:
    objects = render_chart({"workers": {"pools": {"bulk": {"enabled": False}}}})
    assert not [name for _, name in inventory(objects) if "bulk" in name]


def test_three_pools_render_three_deployments_and_workerpools_and_one_hpa() -> None:
    objects = render_chart(ci_values("pools-values.yaml"))
    added = inventory(objects) - DEFAULT_INVENTORY
    assert added == {
        ("Deployment", "celerity-worker-reports"),
        ("WorkerPool", "reports"),
        ("HorizontalPodAutoscaler", "celerity-worker-reports"),
    }
