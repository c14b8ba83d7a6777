"""Schemas of the CRD-backed kinds the chart renders, which kubernetes-validate does not know.

- WorkerPool: the CRD's own openAPIV3Schema from charts/celerity/crds/ (its one home), made strict: an API server
  silently prunes unknown fields of a structural schema, so a misspelt chart field would vanish without an error;
  here it fails.
- ServiceMonitor, PodMonitor, PrometheusRule (prometheus-operator, monitoring.coreos.com/v1): written from the
  operator's API reference for the fields the chart uses, strict as well, so a typo cannot pass.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

CRD_FILE = Path(__file__).resolve().parents[2] / "charts" / "celerity" / "crds" / "workerpools.yaml"

_STR = {"type": "string"}
_STR_MAP = {"type": "object", "additionalProperties": _STR}
_DURATION = {"type": "string", "pattern": "^(0|([0-9]+(ms|s|m|h|d|w|y))+)$"}


def _metadata(namespaced: bool = True) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name", "namespace"] if namespaced else ["name"],
        "properties": {"name": _STR, "namespace": _STR, "labels": _STR_MAP, "annotations": _STR_MAP},
        "additionalProperties": False,
    }


def _object(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _metadata(),
            "spec": spec,
        },
    }


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """additionalProperties: false wherever the CRD lists properties and does not preserve unknown fields."""
    schema = dict(schema)
    schema.pop("x-kubernetes-validations", None)  # CEL: only an API server evaluates it (tests/operator/test_crd.py)
    if "properties" in schema:
        schema["properties"] = {k: _strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
    if isinstance(schema.get("items"), dict):
        schema["items"] = _strict(schema["items"])
    return schema


@functools.cache
def workerpool_crd() -> dict[str, Any]:
    return dict(yaml.safe_load(CRD_FILE.read_text()))


def workerpool_schema() -> dict[str, Any]:
    crd = workerpool_crd()
    (version,) = crd["spec"]["versions"]
    group = crd["spec"]["group"]
    spec = _strict(version["schema"]["openAPIV3Schema"])["properties"]["spec"]
    return _object(f"{group}/{version['name']}", crd["spec"]["names"]["kind"], spec)


_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"matchLabels": _STR_MAP, "matchExpressions": {"type": "array"}},
}
_NAMESPACE_SELECTOR = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STR}},
}
_RELABELING = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "separator": _STR,
        "targetLabel": _STR,
        "regex": _STR,
        "modulus": {"type": "integer"},
        "replacement": _STR,
        "action": {
            "enum": [
                "replace",
                "keep",
                "drop",
                "hashmod",
                "labelmap",
                "labeldrop",
                "labelkeep",
                "lowercase",
                "uppercase",
                "keepequal",
                "dropequal",
            ]
        },
    },
}
_ENDPOINT_COMMON = {
    "port": _STR,
    "path": _STR,
    "scheme": {"enum": ["http", "https"]},
    "interval": _DURATION,
    "scrapeTimeout": _DURATION,
    "honorLabels": {"type": "boolean"},
    "relabelings": {"type": "array", "items": _RELABELING},
    "metricRelabelings": {"type": "array", "items": _RELABELING},
}


def _endpoints(key: str) -> dict[str, Any]:
    endpoint = {"type": "object", "required": ["port"], "additionalProperties": False, "properties": _ENDPOINT_COMMON}
    return {
        "type": "object",
        "required": ["selector", key],
        "additionalProperties": False,
        "properties": {
            "selector": _SELECTOR,
            "namespaceSelector": _NAMESPACE_SELECTOR,
            "jobLabel": _STR,
            key: {"type": "array", "minItems": 1, "items": endpoint},
        },
    }


_RULE = {
    "type": "object",
    "required": ["expr"],
    "additionalProperties": False,
    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
    "properties": {
        "alert": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"},
        "record": _STR,
        "expr": {"type": "string", "minLength": 1},
        "for": _DURATION,
        "keep_firing_for": _DURATION,
        "labels": _STR_MAP,
        "annotations": _STR_MAP,
    },
}
_RULE_SPEC = {
    "type": "object",
    "required": ["groups"],
    "additionalProperties": False,
    "properties": {
        "groups": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "rules"],
                "additionalProperties": False,
                "properties": {"name": _STR, "interval": _DURATION, "rules": {"type": "array", "items": _RULE}},
            },
        }
    },
}

CUSTOM_KINDS = {"WorkerPool", "ServiceMonitor", "PodMonitor", "PrometheusRule"}


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    monitoring = "monitoring.coreos.com/v1"
    return {
        "WorkerPool": workerpool_schema(),
        "ServiceMonitor": _object(monitoring, "ServiceMonitor", _endpoints("endpoints")),
        "PodMonitor": _object(monitoring, "PodMonitor", _endpoints("podMetricsEndpoints")),
        "PrometheusRule": _object(monitoring, "PrometheusRule", _RULE_SPEC),
    }


def schema_for(kind: str) -> dict[str, Any]:
    return _schemas()[kind]
