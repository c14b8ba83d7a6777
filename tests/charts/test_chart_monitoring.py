"""Monitors select the right endpoints and label pools; dashboards ship as ConfigMaps for the Grafana sidecar."""

from __future__ import annotations

import json
from typing import Any

from tests.charts.rendering import CHART_DIR, ci_values, find, get, pod_templates, render_chart

CONFIGMAP_LIMIT = 262_144


def _monitoring() -> list[dict[str, Any]]:
    return render_chart(ci_values("monitoring-values.yaml"))


def test_web_and_operator_servicemonitors_select_their_services_ports() -> None:
    objects = _monitoring()
    for monitor_name, service_name, honor in (
        ("celerity-web", "celerity-web", None),
        ("celerity-operator", "celerity-operator-metrics", True),
    ):
        monitor = get(objects, "ServiceMonitor", monitor_name)
        service = get(objects, "Service", service_name)
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert all(service["metadata"]["labels"].get(k) == v for k, v in selector.items())
        matching = [
            s for s in find(objects, "Service") if all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())
        ]
        assert matching == [service]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"
        assert endpoint.get("honorLabels") is honor
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["celerity"]}
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_workers_podmonitor_selects_every_worker_pod_and_labels_the_pool() -> None:
    objects = _monitoring()
    monitor = get(objects, "PodMonitor", "celerity-workers")
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = {
        o["metadata"]["name"]
        for o, t in pod_templates(objects)
        if all(t["metadata"]["labels"].get(k) == v for k, v in selector.items())
    }
    assert selected == {"celerity-worker-default", "celerity-worker-bulk"}
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["honorLabels"] is True  # celerity_workers_alive keeps its own `pool`
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_celerity_dev_pool"],
        "targetLabel": "pool",
        "action": "replace",
    } in endpoint["relabelings"]


def test_dashboards_are_configmaps_with_the_sidecar_label_under_the_size_limit() -> None:
    objects = _monitoring()
    configmaps = [c for c in find(objects, "ConfigMap") if "dashboard" in c["metadata"]["name"]]
    files = {p.name: p.read_text() for p in (CHART_DIR / "dashboards").glob("*.json")}
    assert len(configmaps) == len(files) >= 4
    for configmap in configmaps:
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert configmap["metadata"]["annotations"] == {"grafana_folder": "Celerity"}
        ((name, text),) = configmap["data"].items()
        assert json.loads(text) == json.loads(files[name])  # stored as-is, never templated
        assert len(json.dumps(configmap)) < CONFIGMAP_LIMIT


def test_dashboard_label_and_namespace_are_configurable() -> None:
    values = {
        "monitoring": {
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard_celerity",
                "labelValue": "yes",
                "namespace": "monitoring",
            }
        }
    }
    for configmap in [c for c in find(render_chart(values), "ConfigMap") if "dashboard" in c["metadata"]["name"]]:
        assert configmap["metadata"]["labels"]["grafana_dashboard_celerity"] == "yes"
        assert "grafana_dashboard" not in configmap["metadata"]["labels"]
        assert configmap["metadata"]["namespace"] == "monitoring"


def test_prometheus_rule_carries_the_release_label() -> None:
    rule = get(_monitoring(), "PrometheusRule", "celerity")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert all(r["labels"]["team"] == "platform" for g in rule["spec"]["groups"] for r in g["rules"])


def test_no_operator_monitor_without_the_operator() -> None:
    objects = render_chart({"operator": {"enabled": False}, "monitoring": {"monitors": {"enabled": True}}})
    assert {m["metadata"]["name"] for m in find(objects, "ServiceMonitor")} == {"celerity-web"}
