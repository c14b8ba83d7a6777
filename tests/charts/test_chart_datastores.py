"""Built-in Redis (AOF, noeviction, password from a Secret) and Postgres (StatefulSet with a PVC), or external ones
from a URL or your own Secret; generated passwords stay consistent between the password and the URLs."""

from __future__ import annotations

import base64
import re
import urllib.parse
from typing import Any

import pytest

from tests.charts.rendering import ci_values, containers, env_of, find, get, render_chart


def _data(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def _services_env(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    (container,) = get(objects, "Deployment", "celerity-web")["spec"]["template"]["spec"]["containers"]
    return env_of(container)


def test_redis_runs_with_aof_noeviction_and_a_secret_password() -> None:
    objects = render_chart()
    config = get(objects, "ConfigMap", "celerity-redis")["data"]["redis.conf"]
    assert re.search(r"^appendonly yes$", config, re.M)
    assert re.search(r"^maxmemory-policy noeviction$", config, re.M)
    assert "requirepass" not in config
    statefulset = get(objects, "StatefulSet", "celerity-redis")
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    assert '--requirepass "$REDIS_PASSWORD"' in container["command"][-1]
    assert container["command"][-1].startswith("exec redis-server")
    assert env_of(container)["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "celerity-redis",
        "key": "redis-password",
    }
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"


def test_generated_redis_password_matches_its_urls() -> None:
    data = _data(get(render_chart(), "Secret", "celerity-redis"))
    assert re.fullmatch(r"[A-Za-z0-9]{32}", data["redis-password"])
    broker = urllib.parse.urlsplit(data["redis-url"])
    results = urllib.parse.urlsplit(data["redis-result-url"])
    assert broker.password == results.password == data["redis-password"]
    assert (broker.hostname, broker.port, broker.path) == ("celerity-redis.celerity.svc", 6379, "/0")
    assert results.path == "/1"  # results on their own DB


def test_generated_postgres_password_matches_its_url() -> None:
    secret = get(render_chart(), "Secret", "celerity-postgresql")
    data = _data(secret)
    url = urllib.parse.urlsplit(data["database-url"])
    assert url.password == data["password"]
    assert (url.username, url.hostname, url.port, url.path) == (
        "celerity",
        "celerity-postgresql.celerity.svc",
        5432,
        "/celerity",
    )
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_given_passwords_are_used_and_url_quoted() -> None:
    objects = render_chart({"redis": {"password": "p@ss/word"}, "postgresql": {"password": "s3cret"}})
    redis = _data(get(objects, "Secret", "celerity-redis"))
    assert redis["redis-password"] == "p@ss/word"
    assert urllib.parse.unquote(urllib.parse.urlsplit(redis["redis-url"]).password or "") == "p@ss/word"
    assert _data(get(objects, "Secret", "celerity-postgresql"))["password"] == "s3cret"


def test_generated_app_secrets() -> None:
    data = _data(get(render_chart(), "Secret", "celerity-app"))
    assert len(data["django-secret-key"]) == 50
    assert len(data["api-token"]) == 40


def test_postgres_statefulset_has_a_pvc_and_writable_runtime_dirs() -> None:
    statefulset = get(render_chart(), "StatefulSet", "celerity-postgresql")
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/var/lib/postgresql/data", "/var/run/postgresql", "/tmp", "/dev/shm"} <= mounts
    assert env_of(container)["PGDATA"]["value"] == "/var/lib/postgresql/data/pgdata"
    assert env_of(container)["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "celerity-postgresql"
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"


def test_persistence_off_uses_emptydirs() -> None:
    objects = render_chart(
        {"redis": {"persistence": {"enabled": False}}, "postgresql": {"persistence": {"enabled": False}}}
    )
    for statefulset in find(objects, "StatefulSet"):
        assert "volumeClaimTemplates" not in statefulset["spec"]
        volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
        assert "emptyDir" in volumes["data"]


def test_external_urls_go_into_chart_secrets() -> None:
    objects = render_chart(
        {
            "redis": {"enabled": False},
            "externalRedis": {
                "url": "rediss://:pw@redis.example:6380/0",
                "resultUrl": "rediss://:pw@redis.example:6380/3",
            },
            "postgresql": {"enabled": False},
            "externalDatabase": {"url": "postgres://u:pw@db.example:5432/celerity?sslmode=require"},
        }
    )
    assert _data(get(objects, "Secret", "celerity-external-redis")) == {
        "redis-url": "rediss://:pw@redis.example:6380/0",
        "redis-result-url": "rediss://:pw@redis.example:6380/3",
    }
    assert _data(get(objects, "Secret", "celerity-external-database"))["database-url"].endswith("sslmode=require")
    env = _services_env(objects)
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "celerity-external-redis", "key": "redis-url"}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "celerity-external-database",
        "key": "database-url",
    }


def test_existing_secrets_are_referenced_with_their_keys() -> None:
    objects = render_chart(ci_values("external-values.yaml"))
    env = _services_env(objects)
    assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"] == {"name": "celerity-broker", "key": "url"}
    assert env["REDIS_RESULT_URL"]["valueFrom"]["secretKeyRef"] == {"name": "celerity-broker", "key": "result-url"}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "celerity-database", "key": "url"}
    assert env["DJANGO_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "celerity-app-secrets"
    assert env["CELERITY_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "celerity-app-secrets",
        "key": "api-token",
    }


def test_results_share_the_broker_url_when_no_result_url_is_given() -> None:
    objects = render_chart({"redis": {"enabled": False}, "externalRedis": {"existingSecret": "b"}})
    assert "REDIS_RESULT_URL" not in _services_env(objects)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"redis": {"enabled": False}},
            "externalRedis: with redis.enabled=false set externalRedis.url or externalRedis.existingSecret",
        ),
        (
            {"postgresql": {"enabled": False}},
            "externalDatabase: with postgresql.enabled=false set externalDatabase.url or",
        ),
    ],
)
def test_external_services_without_a_url_fail_clearly(values: dict[str, Any], message: str) -> None:
    with pytest.raises(Exception, match=re.escape(message)):
        render_chart(values)


def test_secret_changes_roll_the_pods_and_generated_values_do_not() -> None:
    def checksums(values: dict[str, Any]) -> set[str]:
        objects = render_chart(values)
        return {
            t["metadata"]["annotations"]["checksum/secrets"]
            for o in find(objects, "Deployment")
            for t in [o["spec"]["template"]]
            if o["metadata"]["name"] != "celerity-operator"
        }

    (default,) = checksums({})
    assert checksums({}) == {default}  # random passwords do not change the checksum
    assert checksums({"redis": {"password": "new"}}) != {default}
    assert checksums({"config": {"logLevel": "DEBUG"}}) == {default}


def test_config_changes_roll_the_services_pods() -> None:
    def config_checksum(values: dict[str, Any]) -> str:
        return get(render_chart(values), "Deployment", "celerity-web")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"
        ]

    assert config_checksum({}) != config_checksum({"config": {"logLevel": "DEBUG"}})


def test_every_services_pod_reads_secrets_only_through_references() -> None:
    for owner in render_chart():
        if owner["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        for container in containers(owner["spec"]["template"]["spec"]):
            for var in container.get("env", []):
                assert "secretKeyRef" in var.get("valueFrom", {}) or "PASSWORD" not in var["name"]
