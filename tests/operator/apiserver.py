"""What a Kubernetes API server does with a WorkerPool before storing it, from the CRD in charts/celerity/crds/ (its
one home): apply the schema's defaults, validate the structural schema (jsonschema), then evaluate the CEL rules
(`x-kubernetes-validations`, with cel-python). kmock stores whatever it is given, so tests admit pools through here.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

CRD_PATH = Path(__file__).resolve().parents[2] / "charts" / "celerity" / "crds" / "workerpools.yaml"


class Rejected(ValueError):
    """The API server would answer 422 with these messages."""


@functools.cache
def crd() -> dict[str, Any]:
    return dict(yaml.safe_load(CRD_PATH.read_text()))


def schema() -> dict[str, Any]:
    (version,) = crd()["spec"]["versions"]
    return dict(version["schema"]["openAPIV3Schema"])


def admit(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as stored, or Rejected naming every failed check."""
    stored = _defaulted(copy.deepcopy(obj), schema())
    errors = [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in jsonschema.Draft7Validator(schema()).iter_errors(stored)
    ]
    if not errors:
        errors = list(_cel_errors(stored, schema(), "<root>"))
    if errors:
        raise Rejected("; ".join(errors))
    return stored


def _defaulted(value: Any, node: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        for key, sub in (node.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = _defaulted(value[key], sub)
    elif isinstance(value, list) and "items" in node:
        return [_defaulted(item, node["items"]) for item in value]
    return value


def _cel_errors(value: Any, node: dict[str, Any], path: str) -> list[str]:
    errors = []
    for rule in node.get("x-kubernetes-validations") or []:
        if not _evaluate(rule["rule"], value):
            errors.append(f"{path}{rule.get('fieldPath', '')}: {rule.get('message', rule['rule'])}")
    if isinstance(value, dict):
        for key, sub in (node.get("properties") or {}).items():
            if key in value:
                errors.extend(_cel_errors(value[key], sub, f"{path}.{key}" if path != "<root>" else key))
    return errors


@functools.cache
def _program(rule: str) -> celpy.Runner:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule))


def _evaluate(rule: str, value: Any) -> bool:
    return bool(_program(rule).evaluate({"self": celpy.json_to_cel(value)}))
