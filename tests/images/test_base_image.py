"""scripts/base-image.sh decides the base both Dockerfiles build FROM, against a fake engine: nothing changes with
docker or a registry that answers; without one, podman gets the local Debian base (built only when missing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.images.podman import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "base-image.sh"
LOCAL_BASE = "localhost/python:3.11-bookworm-local"
OFFICIAL = "docker.io/library/python:3.11.14-slim-bookworm"
TOOLS = ("bash", "sed", "dirname", "id", "cat", "mktemp")
FAKE = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(json.dumps([os.path.basename(sys.argv[0]), *args]) + "\\n")
while args and args[0].startswith("--"):
    args = args[2:]  # podman's global flags
have = os.environ.get("FAKE_IMAGES", "").split()
if args[:1] == ["info"]:
    sys.exit(0)
if args[:2] == ["image", "exists"]:
    sys.exit(0 if args[2] in have else 1)
if args[:1] == ["pull"]:
    sys.exit(0 if os.environ.get("FAKE_REGISTRY") else 125)
sys.exit(0)
"""


def run(tmp_path: Path, engine: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in TOOLS:  # only these: never the machine's podman, docker or debootstrap
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(shutil.which(tool) or f"/nonexistent/{tool}")
    fake = bin_dir / engine
    fake.write_text(FAKE.format(python=sys.executable))
    fake.chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    clean = {k: v for k, v in os.environ.items() if k not in {"PYTHON_IMAGE", "CONTAINER_ENGINE", "LOCAL_BASE"}}
    result = subprocess.run(
        ["bash", str(SCRIPT)],
        env={**clean, "PATH": str(bin_dir), "FAKE_CALLS": str(calls), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, [json.loads(line) for line in lines]


def test_a_given_base_is_used_as_it_is(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "podman", PYTHON_IMAGE="python:3.11.14-slim-bookworm@sha256:" + "0" * 64)
    assert result.stdout.strip() == "python:3.11.14-slim-bookworm@sha256:" + "0" * 64
    assert calls == []


def test_docker_changes_nothing(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "docker")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [c[:2] for c in calls] == [["docker", "info"]]


def test_podman_with_a_registry_pulls_the_official_base(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "podman", FAKE_REGISTRY="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == OFFICIAL
    assert ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "pull", "--quiet", OFFICIAL] in calls


def test_podman_without_a_registry_reuses_the_local_base(tmp_path: Path) -> None:
    result, calls = run(tmp_path, "podman", FAKE_IMAGES=LOCAL_BASE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == LOCAL_BASE
    assert not [c for c in calls if "import" in c], "an existing base is not built again"
    for call in calls[1:]:  # after `podman info` (the engine check), every call carries podman's flags
        assert call[1:5] == ["--runtime", "runc", "--cgroup-manager", "cgroupfs"], call


def test_podman_without_a_registry_or_debootstrap_says_what_to_install(tmp_path: Path) -> None:
    result, _ = run(tmp_path, "podman")
    assert result.returncode != 0
    assert "cannot be pulled; building localhost/python:3.11-bookworm-local" in result.stderr
    assert "missing: debootstrap" in result.stderr
