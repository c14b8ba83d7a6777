"""Worker pools: one Deployment and one WorkerPool each, the conventions' command, env and labels, a grace period
derived from the task time limit, an HTTP liveness probe on the worker's own /healthz, and clear failures for pool
settings that cannot work together."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from tests.charts.crd_schemas import workerpool_schema
from tests.charts.rendering import ci_values, env_of, find, get, render_chart


def _worker(objects: list[dict[str, Any]], pool: str) -> dict[str, Any]:
    return get(objects, "Deployment", f"celerity-worker-{pool}")


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_each_pool_gets_a_workerpool_matching_the_crd_schema(ci_objects: list[dict[str, Any]]) -> None:
    pools = find(ci_objects, "WorkerPool")
    assert pools
    for pool in pools:
        jsonschema.validate(pool, workerpool_schema())
        deployment = get(ci_objects, "Deployment", pool["spec"]["deploymentName"])
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["celerity.dev/workerpool"] == pool["metadata"]["name"]
        assert labels["celerity.dev/pool"] == pool["metadata"]["name"]


def test_workerpool_spec_mirrors_the_pool_values() -> None:
    objects = render_chart(ci_values("pools-values.yaml"))
    bulk = get(objects, "WorkerPool", "bulk")["spec"]
    assert bulk["deploymentName"] == "celerity-worker-bulk"
    assert bulk["queues"] == ["bulk"]
    assert (bulk["minReplicas"], bulk["maxReplicas"]) == (0, 20)
    assert bulk["targetBacklogPerReplica"] == 16
    assert bulk["pollIntervalSeconds"] == 2
    assert bulk["scaleDown"] == {
        "stabilizationWindowSeconds": 120,
        "periodSeconds": 30,
        "maxStepPods": 4,
        "maxStepPercent": 50,
    }
    assert bulk["paused"] is False
    assert bulk["broker"] == {"secretRef": {"name": "celerity-redis", "key": "redis-url"}}


def test_a_pool_the_operator_does_not_scale_is_paused_so_its_backlog_is_still_measured() -> None:
    objects = render_chart(ci_values("pools-values.yaml"))
    reports = get(objects, "WorkerPool", "reports")["spec"]
    assert reports["paused"] is True
    assert (reports["minReplicas"], reports["maxReplicas"]) == (1, 3)  # the HPA's bounds
    fixed = render_chart({"workers": {"pools": {"bulk": {"autoscaling": {"enabled": False}, "replicas": 3}}}})
    assert get(fixed, "WorkerPool", "bulk")["spec"]["paused"] is True
    assert get(fixed, "Deployment", "celerity-worker-bulk")["spec"]["replicas"] == 3


def test_a_scaled_pool_leaves_replicas_to_its_scaler() -> None:
    objects = render_chart(ci_values("pools-values.yaml"))
    for pool in ("default", "bulk", "reports"):  # operator, operator, HPA
        assert "replicas" not in _worker(objects, pool)["spec"], pool


def test_a_new_pool_takes_the_pool_defaults() -> None:
    objects = render_chart({"workers": {"pools": {"mail": {"queues": ["mail"]}}}})
    spec = get(objects, "WorkerPool", "mail")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"], spec["targetBacklogPerReplica"]) == (1, 4, 8)
    container = _container(_worker(objects, "mail"))
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "384Mi"}


def test_false_and_zero_override_the_defaults() -> None:
    """sprig's mergeOverwrite would keep `true` and `1`; the chart's merge does not."""
    objects = render_chart(
        {
            "workers": {
                "poolDefaults": {"autoscaling": {"minReplicas": 2}},
                "pools": {"bulk": {"autoscaling": {"minReplicas": 0}}},
            }
        }
    )
    assert get(objects, "WorkerPool", "bulk")["spec"]["minReplicas"] == 0
    assert get(objects, "WorkerPool", "default")["spec"]["minReplicas"] == 1


def test_worker_command_follows_the_conventions() -> None:
    objects = render_chart(ci_values("pools-values.yaml"))
    assert _container(_worker(objects, "bulk"))["command"] == [
        "celery", "-A", "config.celery_app", "worker", "-Q", "bulk", "-c", "2", "-n", "bulk@%h", "-E",
        "-P", "prefork", "--loglevel", "INFO",
    ]  # fmt: skip # a command line reads best as one
    reports = _container(_worker(objects, "reports"))["command"]
    assert reports[reports.index("-Q") + 1] == "reports,exports"
    assert reports[reports.index("-P") + 1] == "threads"


def test_worker_env_and_metrics_directory() -> None:
    objects = render_chart()
    deployment = _worker(objects, "bulk")
    container = _container(deployment)
    env = env_of(container)
    assert env["CELERITY_POOL"]["value"] == "bulk"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["CELERITY_TASK_TIME_LIMIT"]["value"] == "300"
    assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] == "/run/celerity/metrics"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/run/celerity/metrics"]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    config = get(objects, "ConfigMap", "celerity-config")["data"]
    assert config["CELERITY_WORKER_METRICS_PORT"] == "9808"
    assert container["ports"] == [{"name": "metrics", "containerPort": 9808, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("values", "pool", "grace"),
    [
        ({}, "bulk", 330),
        ({"config": {"taskTimeLimitSeconds": 60}, "workers": {"terminationGraceMarginSeconds": 15}}, "bulk", 75),
        (ci_values("pools-values.yaml"), "reports", 1830),
    ],
)
def test_grace_period_is_the_task_time_limit_plus_a_margin(values: dict[str, Any], pool: str, grace: int) -> None:
    deployment = _worker(render_chart(values), pool)
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == grace
    limit = int(env_of(_container(deployment))["CELERITY_TASK_TIME_LIMIT"]["value"])
    assert grace > limit


def test_drain_timeout_is_the_grace_period_minus_the_drain_margin() -> None:
    for values, expected in (({}, "320"), (ci_values("pools-values.yaml"), "1820")):
        deployment = _worker(render_chart(values), "bulk" if not values else "reports")
        assert env_of(_container(deployment))["CELERITY_WORKER_DRAIN_TIMEOUT"]["value"] == expected


def test_the_api_accepts_exactly_the_queues_the_pools_consume() -> None:
    config = get(render_chart(ci_values("pools-values.yaml")), "ConfigMap", "celerity-config")["data"]
    assert config["CELERITY_QUEUES"] == "bulk,default,exports,reports"
    disabled = render_chart({"workers": {"pools": {"bulk": {"enabled": False}}}})
    assert get(disabled, "ConfigMap", "celerity-config")["data"]["CELERITY_QUEUES"] == "default"


def test_large_numbers_render_as_integers() -> None:
    """Helm reads numbers as floats; 1000000 must not reach the pods as 1e+06."""
    values = {"config": {"maxItems": 1_000_000, "resultExpiresSeconds": 2_592_000, "taskTimeLimitSeconds": 86_400}}
    objects = render_chart(values)
    config = get(objects, "ConfigMap", "celerity-config")["data"]
    assert config["CELERITY_MAX_ITEMS"] == "1000000"
    assert config["CELERITY_RESULT_EXPIRES"] == "2592000"
    env = env_of(_container(_worker(objects, "bulk")))
    assert env["CELERITY_TASK_TIME_LIMIT"]["value"] == "86400"
    assert env["CELERITY_WORKER_DRAIN_TIMEOUT"]["value"] == "86420"


def test_liveness_is_the_workers_own_healthz_on_the_metrics_port() -> None:
    container = _container(_worker(render_chart(), "default"))
    for probe in ("livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_pods_carry_the_pool_labels_and_selectors_tell_pools_apart() -> None:
    objects = render_chart()
    selectors = []
    for pool in ("default", "bulk"):
        deployment = _worker(objects, pool)
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector["celerity.dev/pool"] == pool
        assert set(selector) == {
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
            "celerity.dev/pool",
        }
        selectors.append(selector)
    assert selectors[0] != selectors[1]


def test_an_hpa_pool_gets_a_cpu_hpa_on_its_deployment() -> None:
    (hpa,) = find(render_chart(ci_values("pools-values.yaml")), "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "celerity-worker-reports"
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 75


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"workers": {"pools": {"bulk": {"autoscaling": {"minReplicas": 5, "maxReplicas": 2}}}}},
            "workers.pools.bulk.autoscaling: minReplicas (5) must not exceed maxReplicas (2)",
        ),
        (
            {"workers": {"pools": {"bulk": {"hpa": {"enabled": True}}}}},
            "workers.pools.bulk: autoscaling.enabled (the operator, on queue depth) and hpa.enabled (CPU) both scale",
        ),
        (
            {"workers": {"pools": {"more": {"queues": ["bulk"]}}}},
            'workers.pools: queue "bulk" is consumed by both pools "bulk" and "more"',
        ),
        (
            {
                "fullnameOverride": "a-very-long-release-name-for-celerity-xx",
                "workers": {
                    "pools": {"reports-aaaaaaaaaaa1": {"queues": ["r1"]}, "reports-aaaaaaaaaaa2": {"queues": ["r2"]}}
                },
            },
            'duplicate pool names: "reports-aaaaaaaaaaa1" and "reports-aaaaaaaaaaa2" both become the Deployment',
        ),
        (
            {
                "workers": {
                    "pools": {
                        "bulk": {
                            "autoscaling": {"enabled": False},
                            "hpa": {"enabled": True, "minReplicas": 4, "maxReplicas": 2},
                        }
                    }
                }
            },
            "workers.pools.bulk.hpa: minReplicas (4) must not exceed maxReplicas (2)",
        ),
        ({"workers": {"pools": {"bulk": {"queues": []}}}}, "/workers/pools/bulk/queues"),
    ],
    ids=["min-over-max", "hpa-and-operator", "shared-queue", "duplicate-names", "hpa-min-over-max", "empty-queues"],
)
def test_bad_pool_combinations_fail_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=re.escape(message)):
        render_chart(values)
