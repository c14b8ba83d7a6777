"""Render charts/celerity with the real Helm engine (helm-python-sdk) and validate every object, as Apache Airflow's
chart tests do: one `render_chart` helper, every object schema-checked, the ci/*.yaml values sets shared with
chart-testing and `make deploy`. Importable (tests.charts.rendering) by other test areas, e.g. the metrics contract."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import yaml

from tests.charts import crd_schemas

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "celerity"
CI_VALUES = sorted((CHART_DIR / "ci").glob("*.yaml"))
RELEASE = "celerity"
NAMESPACE = "celerity"
OLDEST_KUBERNETES = "1.30.0"  # Chart.yaml's kubeVersion floor
NEWEST_KUBERNETES = kubernetes_validate.latest_version()
KUBERNETES_VERSIONS = (OLDEST_KUBERNETES, NEWEST_KUBERNETES)

helm_python.disable_logging()  # lint's `fail` notices go to stderr otherwise


@functools.cache
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART_DIR)


def ci_values(name: str) -> dict[str, Any]:
    """A values set from charts/celerity/ci/ by file name (`monitoring-values.yaml`)."""
    return yaml.safe_load((CHART_DIR / "ci" / name).read_text()) or {}


@functools.lru_cache(maxsize=256)
def _render(values_json: str, name: str, namespace: str, is_upgrade: bool) -> dict[str, str]:
    values = json.loads(values_json)
    return chart().render(values, name=name, namespace=namespace, is_install=not is_upgrade, is_upgrade=is_upgrade)


def render_manifests(
    values: dict[str, Any] | None = None, *, name: str = RELEASE, namespace: str = NAMESPACE, is_upgrade: bool = False
) -> dict[str, str]:
    """Template path (`templates/web/deployment.yaml`) -> rendered text, NOTES.txt included."""
    rendered = _render(json.dumps(values or {}, sort_keys=True), name, namespace, is_upgrade)
    prefix = f"{chart().name}/"
    return {path.removeprefix(prefix): text for path, text in rendered.items()}


def render_chart(
    values: dict[str, Any] | None = None,
    show_only: list[str] | None = None,
    kubernetes_version: str = OLDEST_KUBERNETES,
    *,
    name: str = RELEASE,
    namespace: str = NAMESPACE,
    is_upgrade: bool = False,
    validate: bool = True,
) -> list[dict[str, Any]]:
    """Render the chart and return its objects, each validated against `kubernetes_version` (strict) or, for the
    CRD-backed kinds, against their CRD's schema. `show_only` keeps the objects of those templates."""
    key = json.dumps(
        [values or {}, show_only, kubernetes_version, name, namespace, is_upgrade, validate], sort_keys=True
    )
    return copy.deepcopy(_render_objects(key))


@functools.lru_cache(maxsize=256)
def _render_objects(key: str) -> list[dict[str, Any]]:
    values, show_only, kubernetes_version, name, namespace, is_upgrade, validate = json.loads(key)
    objects = []
    for path, text in sorted(render_manifests(values, name=name, namespace=namespace, is_upgrade=is_upgrade).items()):
        if path.endswith("NOTES.txt") or (show_only is not None and path not in show_only):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    if validate:
        for obj in objects:
            validate_object(obj, kubernetes_version)
    return objects


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> None:
    kind = obj.get("kind")
    if kind in crd_schemas.CUSTOM_KINDS:
        jsonschema.validate(obj, crd_schemas.schema_for(kind))
        return
    kubernetes_validate.validate(obj, kubernetes_version, strict=True)


# --- Finding things in rendered objects ------------------------------------------------------------------------------


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = find(objects, kind, name)
    return found


def inventory(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects}


POD_OWNERS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob"}


def pod_templates(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(owner, pod template) for every workload."""
    for obj in objects:
        if obj["kind"] == "CronJob":
            yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]
        elif obj["kind"] in POD_OWNERS:
            yield obj, obj["spec"]["template"]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def ci_ids() -> list[str]:
    return [p.name for p in CI_VALUES]
