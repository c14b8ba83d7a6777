"""values.schema.json covers every key of values.yaml and rejects unknown keys and bad values with a message that
names the key; values.yaml explains every top-level key."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import pytest
import yaml

from tests.charts.rendering import CHART_DIR, chart, render_chart

SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART_DIR / "values.yaml").read_text())


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _schema_at(path: list[str]) -> dict[str, Any]:
    node = SCHEMA
    for key in path:
        node = _resolve(node)
        if key == "[]":
            assert node.get("type") == "array", f"{'.'.join(path)} is a list in values.yaml, not in the schema"
            node = node["items"]
            continue
        if node.get("type") == "object" and "properties" not in node and "additionalProperties" not in node:
            return node  # a Kubernetes object passed through (securityContext, affinity): the API schema checks it
        if key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            raise AssertionError(f"values.schema.json does not describe {'.'.join(path)}")
    return _resolve(node)


def _leaves(values: Any, path: list[str]) -> list[list[str]]:
    """Dotted paths of every value; list items are `[]` (ingress.hosts.[].paths.[].pathType)."""
    if isinstance(values, dict) and values:
        return [p for key, value in values.items() for p in _leaves(value, [*path, key])]
    if isinstance(values, list) and values:
        return [p for item in values for p in _leaves(item, [*path, "[]"])]
    return [path]


def test_every_key_in_values_yaml_is_in_the_schema() -> None:
    for path in _leaves(DEFAULTS, []):
        _schema_at(path)  # raises with the dotted path when missing


def test_every_object_in_the_schema_rejects_unknown_keys() -> None:
    """Objects, maps' values and list items alike; only Kubernetes pass-through objects are open (their own API schema
    checks them, strictly, when the chart renders)."""
    seen: list[str] = []

    def walk(node: dict[str, Any], where: str) -> None:
        node = _resolve(node)
        seen.append(where)
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{where} accepts unknown keys"
            for key, child in node["properties"].items():
                walk(child, f"{where}.{key}")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{where}.*")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}[]")
        for combinator in ("allOf", "anyOf", "oneOf"):
            for n, child in enumerate(node.get(combinator, [])):
                walk(child, f"{where}.{combinator}[{n}]")

    walk(SCHEMA, "values")
    assert "values.web.ingress.hosts[].paths[]" in seen  # list items were walked


def test_unknown_keys_inside_list_items_are_rejected() -> None:
    hosts = [{"host": "a.example", "paths": [{"path": "/", "pathType": "Prefix", "servce": "x"}]}]
    with pytest.raises(helm_python.HelmValuesError, match=re.escape("additional properties 'servce' not allowed")):
        chart().validate_schema({"web": {"ingress": {"hosts": hosts}}})


def test_values_yaml_comments_every_top_level_key() -> None:
    lines = (CHART_DIR / "values.yaml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-zA-Z]\w*:", line):
            assert lines[number - 1].startswith("#"), f"values.yaml: `{line}` has no comment above it"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": 2}, "additional properties 'replicaCount' not allowed"),
        ({"web": {"replica": 2}}, "at '/web': additional properties 'replica' not allowed"),
        (
            {"workers": {"pools": {"bulk": {"queues": ["bulk"], "concurency": 4}}}},
            "at '/workers/pools/bulk': additional properties 'concurency' not allowed",
        ),
        (
            {"workers": {"pools": {"bulk": {"autoscaling": {"maxReplica": 4}}}}},
            "at '/workers/pools/bulk/autoscaling': additional properties 'maxReplica' not allowed",
        ),
        ({"monitoring": {"prometheusRules": {}}}, "additional properties 'prometheusRules' not allowed"),
        ({"redis": {"persistence": {"sizee": "1Gi"}}}, "at '/redis/persistence': additional properties 'sizee'"),
    ],
)
def test_unknown_keys_are_rejected_naming_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(message)):
        chart().validate_schema(values)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"workers": {"pools": {"bulk": {"poolType": "gevent"}}}}, "/workers/pools/bulk/poolType"),
        ({"workers": {"pools": {"bulk": {"queues": []}}}}, "/workers/pools/bulk/queues"),
        ({"workers": {"pools": {"extra": {"concurrency": 2}}}}, "/workers/pools/extra"),  # no queues
        (
            {"workers": {"pools": {"bulk": {"autoscaling": {"minReplicas": -1}}}}},
            "/workers/pools/bulk/autoscaling/minReplicas",
        ),
        ({"web": {"replicas": "two"}}, "/web/replicas"),
        ({"operator": {"logFormat": "xml"}}, "/operator/logFormat"),
        ({"migrations": {"installHook": "during"}}, "/migrations/installHook"),
        ({"monitoring": {"monitors": {"interval": "often"}}}, "/monitoring/monitors/interval"),
        ({"externalRedis": {"url": "http://redis"}}, "/externalRedis/url"),
        ({"image": {"digest": "md5:abc"}}, "/image/digest"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=f"at '{re.escape(where)}'"):
        chart().validate_schema(values)


def test_pool_names_must_be_short_dns_labels() -> None:
    with pytest.raises(helm_python.HelmValuesError, match="invalid propertyName 'Bulk_Pool'"):
        chart().validate_schema({"workers": {"pools": {"Bulk_Pool": {"queues": ["x"]}}}})


def test_passthrough_kubernetes_objects_are_checked_by_the_kubernetes_schema() -> None:
    """securityContext, affinity and the like are free-form here; a typo fails the strict Kubernetes validation."""
    with pytest.raises(Exception, match="readOnlyRootFilesytem"):
        render_chart({"securityContext": {"readOnlyRootFilesytem": True}})


def test_the_defaults_meet_the_schema() -> None:
    chart().validate_schema({})
    chart().validate_schema(DEFAULTS)
