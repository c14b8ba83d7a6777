"""The kind workflow and image scripts (no engine or cluster here, so they run against fakes): shellcheck-clean,
each checks its prerequisites and says how to get what is missing, and each drives the tools as the recipe in
docs/deploying.md says. The kind config pins its node image; `make deploy` uses values-kind.yaml, which renders."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.charts.rendering import CHART_DIR, REPO_ROOT, ci_values, find, render_chart
from tests.scripts import fakes

SCRIPTS = REPO_ROOT / "scripts"
KIND = SCRIPTS / "kind"
WORKFLOW = ["up.sh", "load.sh", "deploy.sh", "smoke.sh", "down.sh"]
ALL_SCRIPTS = [SCRIPTS / "images.sh", *(KIND / s for s in WORKFLOW), KIND / "lib.sh"]
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def run(script: Path, bin_dir: Path, state: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/usr/bin/env", "bash", str(script)],
        env=fakes.env(bin_dir, state, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "bin", tmp_path / "state"


def with_tools(sandbox: tuple[Path, Path], *tools: str, engine: str | None = "docker") -> tuple[Path, Path]:
    bin_dir, state = sandbox
    fakes.install(bin_dir, state, tools)
    if engine:
        (state / f"{engine}-engine").touch()
    return bin_dir, state


def test_scripts_are_shellcheck_clean() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "shellcheck"), "--external-sources", *map(str, ALL_SCRIPTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stdout


def test_the_makefile_targets_have_their_scripts() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    for script in ["scripts/images.sh", *(f"scripts/kind/{s}" for s in WORKFLOW)]:
        assert f"bash {script}" in makefile
        assert (REPO_ROOT / script).exists()


@pytest.mark.parametrize("script", WORKFLOW)
def test_missing_tools_are_named_with_how_to_get_them(script: str, sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, engine=None)  # only bash, coreutils, curl and python3
    result = run(KIND / script, bin_dir, state)
    assert result.returncode != 0
    assert "prerequisites missing" in result.stderr
    assert "missing: kind" in result.stderr
    assert "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" in result.stderr
    if script in {"deploy.sh"}:
        assert "missing: helm" in result.stderr
        assert "https://helm.sh/docs/intro/install/" in result.stderr
    if script in {"up.sh", "deploy.sh", "smoke.sh"}:
        assert "missing: kubectl" in result.stderr
        assert "https://kubernetes.io/docs/tasks/tools/#kubectl" in result.stderr


def test_images_without_an_engine_say_how_to_get_one(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, engine=None)
    result = run(SCRIPTS / "images.sh", bin_dir, state)
    assert result.returncode != 0
    assert "missing: docker or podman" in result.stderr
    assert "https://docs.docker.com/engine/install/" in result.stderr


def test_a_docker_cli_without_an_engine_is_not_an_engine(sandbox: tuple[Path, Path]) -> None:
    """This machine's case: the docker CLI exists but `docker info` fails."""
    bin_dir, state = with_tools(sandbox, "docker", engine=None)
    result = run(SCRIPTS / "images.sh", bin_dir, state)
    assert result.returncode != 0
    assert 'found the CLI of: docker, but its "info" fails' in result.stderr
    assert not [c for c in fakes.calls(state) if c[:2] == ["docker", "build"]]


def test_images_build_both_with_the_working_engine_and_the_app_version(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker", "podman", engine="podman")  # docker's engine is down
    result = run(SCRIPTS / "images.sh", bin_dir, state, PYTHON_IMAGE="python:3.11.14-slim-bookworm@sha256:" + "0" * 64)
    assert result.returncode == 0, result.stderr
    podman_flags = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"]  # on every podman call (docs/deploying.md)
    builds = [c for c in fakes.calls(state) if c[1:6] == [*podman_flags, "build"]]
    assert [c[0] for c in builds] == ["podman", "podman"]
    assert "--ulimit" in builds[0]
    for build, component in zip(builds, ["services", "operator"], strict=True):
        assert build[build.index("--file") + 1] == str(REPO_ROOT / component / "Dockerfile")
        assert build[build.index("--tag") + 1] == f"celerity/{component}:0.1.0"
        assert build[-1] == str(REPO_ROOT)
        assert build[build.index("--build-arg") + 1].startswith("PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:")


def test_images_refuse_latest(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker")
    result = run(SCRIPTS / "images.sh", bin_dir, state, IMAGE_TAG="latest")
    assert result.returncode != 0
    assert "pin a version" in result.stderr


def test_up_creates_the_cluster_from_the_checked_in_config_once(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker", "kind", "kubectl")
    assert run(KIND / "up.sh", bin_dir, state).returncode == 0
    second = run(KIND / "up.sh", bin_dir, state)
    assert second.returncode == 0
    assert "already exists" in second.stderr
    creates = [c for c in fakes.calls(state) if c[:3] == ["kind", "create", "cluster"]]
    assert creates == [
        ["kind", "create", "cluster", "--name", "celerity", "--config", str(KIND / "cluster.yaml"), "--wait", "180s"]
    ]


def test_up_with_podman_tells_kind_to_use_it(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "podman", "kind", "kubectl", engine="podman")
    result = run(KIND / "up.sh", bin_dir, state)
    assert result.returncode == 0, result.stderr
    assert (state / "kind-provider").read_text() == "podman"


def test_load_needs_the_images_and_loads_both_archives(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker", "kind")
    (state / "cluster").touch()
    missing = run(KIND / "load.sh", bin_dir, state)
    assert missing.returncode != 0
    assert "run `make images` first" in missing.stderr
    (state / "images-built").touch()
    result = run(KIND / "load.sh", bin_dir, state)
    assert result.returncode == 0, result.stderr
    calls = fakes.calls(state)
    saved = [c[-1] for c in calls if c[:2] == ["docker", "save"]]
    loads = [c for c in calls if c[:3] == ["kind", "load", "image-archive"]]
    assert saved == ["celerity/services:0.1.0", "celerity/operator:0.1.0"]
    assert [c[-2:] for c in loads] == [["--name", "celerity"], ["--name", "celerity"]]


def test_steps_after_up_need_the_cluster(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker", "kind", "helm", "kubectl")
    for script in ("load.sh", "deploy.sh", "smoke.sh"):
        result = run(KIND / script, bin_dir, state)
        assert result.returncode != 0
        assert "run `make kind-up` first" in result.stderr


def test_deploy_applies_the_crd_then_helm_upgrade_install_waits_with_kind_values(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker", "kind", "helm", "kubectl")
    (state / "cluster").touch()
    result = run(KIND / "deploy.sh", bin_dir, state)
    assert result.returncode == 0, result.stderr
    calls = fakes.calls(state)
    apply = next(i for i, c in enumerate(calls) if c[:1] == ["kubectl"] and "apply" in c)
    helm = next(i for i, c in enumerate(calls) if c[:1] == ["helm"])
    assert apply < helm
    assert "--server-side" in calls[apply]
    assert str(CHART_DIR / "crds" / "workerpools.yaml") in calls[apply]
    command = calls[helm]
    assert command[1:5] == ["upgrade", "--install", "celerity", str(CHART_DIR)]
    assert command[command.index("--values") + 1] == str(CHART_DIR / "ci" / "values-kind.yaml")
    assert command[command.index("--kube-context") + 1] == "kind-celerity"
    assert "--wait" in command
    assert "--create-namespace" in command
    assert "image.tag=0.1.0" in command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_smoke_submits_both_jobs_checks_results_and_sees_bulk_scale_up_and_down(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "kind", "kubectl")
    (state / "cluster").touch()
    port = _free_port()
    result = run(KIND / "smoke.sh", bin_dir, state, SMOKE_PORT=str(port), SMOKE_POLL="0.1")
    assert result.returncode == 0, result.stderr + result.stdout
    jobs = [json.loads(line) for line in (state / "jobs.jsonl").read_text().splitlines()]
    assert [j["workload"] for j in jobs] == ["chunked", "chord"]
    assert "chunked: 20000 items, sum 2666466670000: correct" in result.stdout
    assert "chord: 2000 items" in result.stdout
    assert "bulk pool scaled up: 0 -> 3 replicas" in result.stderr
    assert "bulk pool at its minimum (0 replicas) after the burst drained" in result.stderr
    assert "smoke test passed: both jobs correct, bulk scaled 0 -> 3 -> 0" in result.stderr
    forwards = [c for c in fakes.calls(state) if "port-forward" in c]
    assert len(forwards) == 1
    assert forwards[0][-2:] == ["service/celerity-web", f"{port}:8000"]
    assert forwards[0][:5] == ["kubectl", "--context", "kind-celerity", "--namespace", "celerity"]


def test_smoke_fails_when_the_pool_never_scales(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "kind", "kubectl")
    (state / "cluster").touch()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(kubectl.read_text().replace('print("3" if', 'print("0" if'))
    result = run(KIND / "smoke.sh", bin_dir, state, SMOKE_PORT=str(_free_port()), SMOKE_POLL="0.1")
    assert result.returncode != 0
    assert "never scaled the bulk pool above 0" in result.stderr


def test_smoke_fails_when_the_pool_never_scales_back_down(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "kind", "kubectl")
    (state / "cluster").touch()
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(kubectl.read_text().replace("polls_since_done < 2", "True"))
    env = {"SMOKE_PORT": str(_free_port()), "SMOKE_POLL": "0.1", "SMOKE_SCALE_TIMEOUT": "2"}
    result = run(KIND / "smoke.sh", bin_dir, state, **env)
    assert result.returncode != 0
    assert "bulk pool still at 3 replicas after 2s (after the burst drained); minimum is 0" in result.stderr
    assert "smoke test passed" not in result.stderr


def test_smoke_fails_when_a_job_fails(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "kind", "kubectl")
    (state / "cluster").touch()
    (state / "fail-chord").touch()
    result = run(KIND / "smoke.sh", bin_dir, state, SMOKE_PORT=str(_free_port()), SMOKE_POLL="0.1")
    assert result.returncode != 0
    assert "a job did not succeed" in result.stderr
    assert '"workload": "chord", "status": "failed"' in result.stderr


def test_down_deletes_the_cluster(sandbox: tuple[Path, Path]) -> None:
    bin_dir, state = with_tools(sandbox, "docker", "kind")
    (state / "cluster").touch()
    assert run(KIND / "down.sh", bin_dir, state).returncode == 0
    assert ["kind", "delete", "cluster", "--name", "celerity"] in fakes.calls(state)
    again = run(KIND / "down.sh", bin_dir, state)
    assert again.returncode == 0
    assert "nothing to delete" in again.stderr


def test_kind_config_pins_the_node_image() -> None:
    config = yaml.safe_load((KIND / "cluster.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "celerity"
    for node in config["nodes"]:
        image, _, digest = node["image"].partition("@")
        repository, _, tag = image.rpartition(":")
        assert repository == "kindest/node"
        assert tag.startswith("v1.")
        assert tag != "latest"
        assert digest.startswith("sha256:")
        assert len(digest) == len("sha256:") + 64


def test_kind_values_render_a_small_release_that_scales_bulk_from_zero() -> None:
    objects = render_chart(ci_values("values-kind.yaml"))
    bulk = next(p for p in find(objects, "WorkerPool") if p["metadata"]["name"] == "bulk")["spec"]
    assert bulk["minReplicas"] == 0
    assert bulk["maxReplicas"] >= 2
    for deployment in find(objects, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["imagePullPolicy"] == "IfNotPresent"
            assert container["image"].endswith(":0.1.0")
