"""Every pod template, in every values set: non-root, read-only root filesystem, no capabilities, no privilege
escalation, seccomp RuntimeDefault, resource requests, pinned images; and secrets reach pods only through Secrets."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import helm_python
import pytest

from tests.charts.rendering import containers, env_of, pod_templates, render_chart

SECRET_ENV = {
    "DJANGO_SECRET_KEY",
    "CELERITY_API_TOKEN",
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_RESULT_URL",
    "CELERITY_OPERATOR_REDIS_URL",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "REDISCLI_AUTH",
}


def _pods(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    pods = [(f"{owner['kind']}/{owner['metadata']['name']}", t["spec"]) for owner, t in pod_templates(objects)]
    assert pods
    return pods


def test_pods_run_as_non_root_with_seccomp(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, owner
        assert context["runAsUser"] != 0, owner
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, owner
        for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host_namespace), owner


def test_containers_are_locked_down(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        for container in containers(pod):
            where = f"{owner}/{container['name']}"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert context.get("runAsNonRoot", pod["securityContext"]["runAsNonRoot"]) is True, where
            assert not context.get("privileged"), where


def test_writable_paths_are_emptydirs_or_volumes(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in pod.get("volumeClaimTemplates", [])}
        for container in containers(pod):
            for mount in container.get("volumeMounts", []):
                volume = volumes.get(mount["name"])
                assert volume is not None or mount["name"] in claims or mount["name"] == "data", (owner, mount)
                if volume is not None:
                    assert {"emptyDir", "configMap", "secret"} & set(volume), (owner, volume)
                    assert "hostPath" not in volume, owner


def test_every_container_requests_cpu_and_memory(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        for container in containers(pod):
            requests = container["resources"]["requests"]
            assert requests.get("cpu"), f"{owner}/{container['name']}"
            assert requests.get("memory"), f"{owner}/{container['name']}"
            assert container["resources"].get("limits", {}).get("memory"), f"{owner}/{container['name']}"


def test_images_are_pinned_and_never_latest(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        for container in containers(pod):
            image = container["image"]
            name, _, tag = image.split("@")[0].rpartition(":")
            assert name, (owner, image)
            assert tag, (owner, image)
            assert "/" not in tag, (owner, image)
            assert tag != "latest", (owner, image)
            assert container["imagePullPolicy"] in {"IfNotPresent", "Never"}, owner


def test_service_images_default_to_the_app_version() -> None:
    objects = render_chart()
    images = {c["image"] for _, pod in _pods(objects) for c in containers(pod)}
    assert "celerity/services:0.1.0" in images
    assert "celerity/operator:0.1.0" in images


def test_latest_is_refused_with_a_message_naming_the_key() -> None:
    with pytest.raises(Exception, match=r"operator\.image\.tag: `latest` is not allowed"):
        render_chart({"operator": {"image": {"tag": "latest"}}})


@pytest.mark.parametrize("component", ["redis", "postgresql"])
@pytest.mark.parametrize(
    ("tag", "message"),
    [("", "at '/{c}/image/tag': minLength: got 0, want 1"), (None, "at '/{c}/image': missing property 'tag'")],
    ids=["empty", "removed"],
)
def test_upstream_images_need_their_own_tag(component: str, tag: str | None, message: str) -> None:
    """Their tag never falls back to Celerity's appVersion (docker.io/library/redis:0.1.0 does not exist)."""
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(message.format(c=component))):
        render_chart({component: {"image": {"tag": tag}}})


def test_registry_and_digest_are_honoured() -> None:
    digest = "sha256:" + "a" * 64
    objects = render_chart(
        {"image": {"registry": "ghcr.io", "repository": "acme/celerity", "tag": "1.2.3", "digest": digest}}
    )
    web = next(pod for owner, pod in _pods(objects) if owner == "Deployment/celerity-web")
    assert web["containers"][0]["image"] == f"ghcr.io/acme/celerity:1.2.3@{digest}"


def test_only_the_operator_mounts_a_service_account_token(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        assert pod["automountServiceAccountToken"] is (owner == "Deployment/celerity-operator"), owner


KNOWN_SECRETS = {
    "secrets": {"djangoSecretKey": "django-key-4e1f", "apiToken": "api-token-77aa"},
    "redis": {"password": "redis-pass-0c3d"},
    "postgresql": {"password": "pg-pass-91b2"},
}


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "redis": {"enabled": False},
            "externalRedis": {"url": "redis://:ext-redis-pass-5e@redis.example:6379/0"},
            "postgresql": {"enabled": False},
            "externalDatabase": {"url": "postgres://u:ext-db-pass-6f@db.example/celerity"},
        },
    ],
    ids=["built-in", "external"],
)
def test_secret_values_appear_only_in_secrets(extra: dict[str, Any]) -> None:
    values = {**KNOWN_SECRETS, **extra, "monitoring": {"dashboards": {"enabled": True}}}
    needles = [
        "django-key-4e1f",
        "api-token-77aa",
        "redis-pass-0c3d",
        "pg-pass-91b2",
        "ext-redis-pass-5e",
        "ext-db-pass-6f",
    ]
    for obj in render_chart(values):
        text = json.dumps(obj)
        if obj["kind"] == "Secret":
            decoded = " ".join(base64.b64decode(v).decode() for v in obj.get("data", {}).values())
            assert not any(n in text for n in needles), "Secret data must be base64, not stringData"
            assert decoded
            continue
        leaked = [n for n in needles if n in text]
        assert not leaked, f"{obj['kind']}/{obj['metadata']['name']} carries {leaked}"


def test_secret_env_comes_from_secret_refs(ci_objects: list[dict[str, Any]]) -> None:
    for owner, pod in _pods(ci_objects):
        for container in containers(pod):
            for name, var in env_of(container).items():
                if name in SECRET_ENV:
                    assert "value" not in var, f"{owner}: {name} is a literal"
                    assert "secretKeyRef" in var["valueFrom"], f"{owner}: {name}"


def test_configmaps_hold_no_secret_names(ci_objects: list[dict[str, Any]]) -> None:
    for obj in ci_objects:
        if obj["kind"] == "ConfigMap" and "dashboard" not in obj["metadata"]["name"]:
            keys = set(obj.get("data", {}))
            assert not keys & SECRET_ENV, obj["metadata"]["name"]
            assert not [k for k in keys if any(w in k.upper() for w in ("PASSWORD", "TOKEN", "SECRET"))], keys
