"""Your own job types through the chart: the image, the extra Django apps and which pool runs which type become the
services' environment (ci/examples-values.yaml); a type routed to a queue no pool consumes fails the render."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.rendering import ci_values, render_chart, render_manifests


def config_data(values: dict[str, Any]) -> dict[str, str]:
    (configmap,) = [o for o in render_chart(values) if o["kind"] == "ConfigMap" and "CELERITY_QUEUES" in o["data"]]
    data: dict[str, str] = configmap["data"]
    return data


def test_the_examples_values_install_the_app_and_route_its_types() -> None:
    values = ci_values("examples-values.yaml")
    data = config_data(values)
    assert data["CELERITY_EXTRA_APPS"] == "celerity_examples"
    assert data["CELERITY_JOB_TYPE_QUEUES"] == "checksum=bulk,wordcount=default"
    images = {
        container["image"]
        for obj in render_chart(values)
        if obj["kind"] in ("Deployment", "Job")
        for container in obj["spec"]["template"]["spec"]["containers"]
        if "operator" not in container["name"]
    }
    assert images == {"celerity/examples:0.1.0"}, "web, workers and migrations run the examples image"


def test_without_job_type_values_nothing_is_set() -> None:
    data = config_data({})
    assert "CELERITY_EXTRA_APPS" not in data
    assert "CELERITY_JOB_TYPE_QUEUES" not in data


def test_a_job_type_routed_to_a_queue_no_pool_consumes_fails_the_render() -> None:
    with pytest.raises(Exception, match=r'config.jobTypeQueues.checksum: no enabled pool consumes queue \\?"reports'):
        render_manifests({"config": {"jobTypeQueues": {"checksum": "reports"}}})


@pytest.mark.parametrize(
    "config",
    [{"extraApps": ["not an app"]}, {"extraApps": "celerity_examples"}, {"jobTypeQueues": {"Bad Name": "bulk"}}],
)
def test_malformed_job_type_values_are_refused_by_the_schema(config: dict[str, Any]) -> None:
    with pytest.raises(Exception, match=r"(?i)schema|validat"):
        render_manifests({"config": config})
