"""Migrations: a Job running `python manage.py migrate --noinput` as a Helm hook (pre-upgrade always; post-install,
or pre-install when everything it reads exists before the release), or a plain Job when hooks are off."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.charts.rendering import ci_values, env_of, find, get, render_chart


def _job(objects: list[dict[str, Any]]) -> dict[str, Any]:
    (job,) = find(objects, "Job")
    return job


def test_migrate_job_command_and_env() -> None:
    job = _job(render_chart())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    env = env_of(container)
    assert env["DJANGO_SETTINGS_MODULE"]["value"] == "config.settings.production"  # inline: no ConfigMap needed
    assert "secretKeyRef" in env["DATABASE_URL"]["valueFrom"]
    assert "envFrom" not in container
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_default_hooks_migrate_after_install_and_before_upgrade() -> None:
    annotations = _job(render_chart())["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"


def test_pre_install_when_everything_exists_beforehand() -> None:
    job = _job(render_chart(ci_values("external-values.yaml")))
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "serviceAccountName" not in job["spec"]["template"]["spec"]  # the release's account does not exist yet


def test_pre_install_with_chart_made_secrets_fails_naming_what_is_missing() -> None:
    message = (
        "migrations.installHook=pre runs before the release creates anything, so the database and every Secret the "
        "Job reads must already exist; set postgresql.enabled=false with externalDatabase.existingSecret, "
        "redis.enabled=false with externalRedis.existingSecret, secrets.existingSecret"
    )
    with pytest.raises(Exception, match=re.escape(message)):
        render_chart({"migrations": {"installHook": "pre"}})


def test_hooks_off_renders_a_plain_job_per_revision() -> None:
    values = {"migrations": {"useHelmHooks": False, "jobAnnotations": {"argocd.argoproj.io/hook": "Sync"}}}
    job = _job(render_chart(values))
    assert job["metadata"]["name"] == "celerity-migrate-r1"
    assert not [k for k in job["metadata"]["annotations"] if k.startswith("helm.sh/")]
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"


def test_migrations_disabled_renders_no_job() -> None:
    assert not find(render_chart({"migrations": {"enabled": False}}), "Job")


def test_the_job_uses_the_release_service_account_after_install() -> None:
    objects = render_chart()
    assert _job(objects)["spec"]["template"]["spec"]["serviceAccountName"] == "celerity"
    assert get(objects, "ServiceAccount", "celerity")["automountServiceAccountToken"] is False
