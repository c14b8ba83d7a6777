"""Every ci/*.yaml values set renders with the real Helm engine, passes `helm lint --strict` and the values schema,
and every object validates against the oldest and the newest Kubernetes the chart supports (strict), or against its
CRD's schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from tests.charts.rendering import (
    CHART_DIR,
    CI_VALUES,
    KUBERNETES_VERSIONS,
    chart,
    ci_ids,
    render_chart,
    validate_object,
)

WARNING = 2  # helm lint severities: 1 info, 2 warning, 3 error


def _values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("values_file", CI_VALUES, ids=ci_ids())
@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
def test_every_object_is_valid_kubernetes(values_file: Path, kubernetes_version: str) -> None:
    objects = render_chart(_values(values_file), kubernetes_version=kubernetes_version)
    assert objects
    for obj in objects:
        assert obj["metadata"].get("namespace") or obj["kind"] in {"ClusterRole", "ClusterRoleBinding"}, obj


@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
def test_the_crds_are_valid_kubernetes(kubernetes_version: str) -> None:
    """crds/ is not rendered (Helm applies it as-is on first install), so it is validated on its own."""
    files = sorted((CHART_DIR / "crds").glob("*.yaml"))
    assert files
    for path in files:
        for crd in yaml.safe_load_all(path.read_text()):
            assert crd["kind"] == "CustomResourceDefinition", path
            validate_object(crd, kubernetes_version)


@pytest.mark.parametrize("values_file", CI_VALUES, ids=ci_ids())
def test_helm_lint_strict_passes(values_file: Path) -> None:
    for kube_version in ("v1.30.0", f"v{KUBERNETES_VERSIONS[1]}"):
        report = helm_python.lint(CHART_DIR, _values(values_file), strict=True, kube_version=kube_version)
        problems = [m for m in report["messages"] if m["severity"] >= WARNING]
        assert not problems, problems
        assert not report["errors"], report["errors"]


@pytest.mark.parametrize("values_file", CI_VALUES, ids=ci_ids())
def test_ci_values_meet_the_schema(values_file: Path) -> None:
    chart().validate_schema(_values(values_file))


def test_ci_values_cover_the_issue_matrix() -> None:
    """defaults, monitoring, external services, three pools (one scaling to zero), network policies, kind."""
    names = {p.name for p in CI_VALUES}
    assert names >= {
        "default-values.yaml",
        "monitoring-values.yaml",
        "external-values.yaml",
        "pools-values.yaml",
        "netpol-values.yaml",
        "values-kind.yaml",
    }
    pools = _values(CHART_DIR / "ci" / "pools-values.yaml")["workers"]["pools"]
    assert len(pools) == 3
    assert any(p.get("autoscaling", {}).get("minReplicas") == 0 for p in pools.values())


def test_rendering_twice_gives_the_same_objects_except_generated_secrets() -> None:
    """Generated passwords are random on a fresh install (the cluster lookup keeps them on upgrade); nothing else is."""

    def stable(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [o for o in objects if o["kind"] != "Secret"]

    first = helm_python.Chart.load(CHART_DIR).render({}, name="celerity", namespace="celerity", is_install=True)
    second = helm_python.Chart.load(CHART_DIR).render({}, name="celerity", namespace="celerity", is_install=True)
    parse = lambda rendered: stable(  # noqa: E731 - a one-line helper reads better than a def here
        [d for k, t in sorted(rendered.items()) if not k.endswith("NOTES.txt") for d in yaml.safe_load_all(t) if d]
    )
    assert parse(first) == parse(second)


def test_the_packaged_chart_ships_crds_and_dashboards_but_not_the_generator(tmp_path: Path) -> None:
    import tarfile

    archive = helm_python.package(CHART_DIR, destination=tmp_path)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "celerity/crds/workerpools.yaml" in names
    assert {f"celerity/dashboards/{d}.json" for d in ("overview", "tasks", "autoscaling", "locks", "web")} <= names
    assert "celerity/values.schema.json" in names
    assert not [n for n in names if "/hack/" in n or n.endswith(".py")]
    top_level = {n.split("/")[1] for n in names if "/" in n}
    assert top_level == {
        ".helmignore",
        "Chart.yaml",
        "README.md",
        "values.yaml",
        "values.schema.json",
        "templates",
        "crds",
        "dashboards",
    }
