"""The WorkerPool CRD, loaded from the chart's crds/ (its one home), rejects bad specs with clear messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

CRD = Path(__file__).resolve().parents[2] / "charts" / "celerity" / "crds" / "workerpools.yaml"


def _schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = crd["spec"]["versions"]
    assert version["subresources"]["status"] == {}
    assert version["subresources"]["scale"]["statusReplicasPath"] == ".status.currentReplicas"
    return dict(version["schema"]["openAPIV3Schema"])


GOOD = {"deploymentName": "celerity-worker-bulk", "queues": ["bulk"], "minReplicas": 0, "maxReplicas": 10}


def test_a_chart_style_pool_is_valid() -> None:
    broker = {"secretRef": {"name": "celerity-redis", "key": "url"}}
    spec = {**GOOD, "scaleDown": {"stabilizationWindowSeconds": 60}, "paused": False, "broker": broker}
    jsonschema.validate({"spec": spec}, _schema())


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"queues": []}, "queues"),
        ({"minReplicas": -1}, "minimum"),
        ({"maxReplicas": 0}, "minimum"),
        ({"targetBacklogPerReplica": 0}, "minimum"),
        ({"pollIntervalSeconds": "fast"}, "integer"),
        ({"scaleDown": {"maxStepPercent": 0}}, "minimum"),
        ({"deploymentName": ""}, "deploymentName"),
    ],
)
def test_bad_specs_are_rejected_with_a_message(change: dict[str, Any], word: str) -> None:
    with pytest.raises(jsonschema.ValidationError) as caught:
        jsonschema.validate({"spec": {**GOOD, **change}}, _schema())
    assert word in str(caught.value)


def test_cross_field_rules_are_cel_with_messages() -> None:
    rules = _schema()["properties"]["spec"]["x-kubernetes-validations"]
    assert {
        "rule": "self.minReplicas <= self.maxReplicas",
        "message": "minReplicas must not exceed maxReplicas",
    } in rules
