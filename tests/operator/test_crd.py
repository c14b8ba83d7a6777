"""The WorkerPool CRD, loaded from the chart's crds/ (its one home): defaults, clear rejections, CEL cross-field rules,
and a status the operator's own writes fit."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from celerity_operator import parsing
from celerity_operator.status import Condition, conditions
from tests.operator.apiserver import Rejected, admit, crd, schema

GOOD = {"deploymentName": "celerity-worker-bulk", "queues": ["bulk"], "minReplicas": 0, "maxReplicas": 10}


def pool(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "celerity.dev/v1alpha1",
        "kind": "WorkerPool",
        "metadata": {"name": "bulk"},
        "spec": {**GOOD, **spec},
    }


def test_the_crd_has_status_and_scale_subresources_and_printer_columns() -> None:
    (version,) = crd()["spec"]["versions"]
    assert crd()["spec"]["scope"] == "Namespaced"
    assert version["subresources"]["status"] == {}
    assert version["subresources"]["scale"]["statusReplicasPath"] == ".status.currentReplicas"
    assert {"Desired", "Current", "Waiting", "Ready"} <= {c["name"] for c in version["additionalPrinterColumns"]}


def test_a_chart_style_pool_is_valid_and_defaulted_like_the_operator_does() -> None:
    stored = admit(pool(broker={"secretRef": {"name": "celerity-redis"}}, scaleDown={"stabilizationWindowSeconds": 90}))
    spec = stored["spec"]
    assert spec["pollIntervalSeconds"] == parsing.DEFAULT_POLL_SECONDS
    assert spec["targetBacklogPerReplica"] == 8
    assert spec["scaleUp"] == parsing.UP_DEFAULTS
    assert spec["scaleDown"] == {**parsing.DOWN_DEFAULTS, "stabilizationWindowSeconds": 90}
    assert spec["broker"]["secretRef"]["key"] == "url"
    assert parsing.pool_spec(spec) == parsing.pool_spec(
        {**GOOD, "broker": {"secretRef": {"name": "celerity-redis"}}, "scaleDown": {"stabilizationWindowSeconds": 90}}
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"queues": []}, "spec.queues"),
        ({"minReplicas": -1}, "spec.minReplicas: -1 is less than the minimum of 0"),
        ({"maxReplicas": 0}, "spec.maxReplicas"),
        ({"targetBacklogPerReplica": 0}, "spec.targetBacklogPerReplica"),
        ({"pollIntervalSeconds": "fast"}, "'fast' is not of type 'integer'"),
        ({"scaleDown": {"maxStepPercent": 0}}, "spec.scaleDown.maxStepPercent"),
        ({"scaleUp": {"periodSeconds": 0}}, "spec.scaleUp.periodSeconds"),
        ({"deploymentName": ""}, "spec.deploymentName"),
        ({"deploymentName": "Not_A_Name"}, "does not match"),
        ({"broker": {}}, "'secretRef' is a required property"),
        ({"minReplicas": 4, "maxReplicas": 2}, "spec.minReplicas: minReplicas must not exceed maxReplicas"),
        ({"queues": ["bulk", "bulk"]}, "spec.queues: queues must not repeat"),
    ],
)
def test_bad_specs_are_rejected_with_a_clear_message(change: dict[str, Any], words: str) -> None:
    with pytest.raises(Rejected) as rejected:
        admit(pool(**change))
    assert words in str(rejected.value)


@pytest.mark.parametrize("change", [{"minReplicas": 4, "maxReplicas": 2}, {"queues": ["bulk", "bulk"]}])
def test_the_operator_rejects_what_the_cel_rules_reject(change: dict[str, Any]) -> None:
    """A spec that slips past the API server (an older CRD, validation off) still gets no further than parsing."""
    with pytest.raises(parsing.InvalidSpec):
        parsing.pool_spec({**GOOD, **change})


def test_the_status_the_operator_writes_fits_the_schema() -> None:
    status = {
        "observedBacklog": {"waiting": 3, "reserved": 2, "running": 1},
        "desiredReplicas": 2,
        "currentReplicas": 1,
        "lastScaleTime": "2026-11-25T01:00:00.123Z",
        "lastScaleReason": "backlog 5 needs 2 replicas",
        "observedGeneration": 3,
        "kopf": {"anything": True},
        "conditions": conditions([Condition("Ready", True, "Reconciled")], [], now=0.0, generation=3),
    }
    jsonschema.validate({**pool(), "status": status}, schema(), format_checker=jsonschema.FormatChecker())
