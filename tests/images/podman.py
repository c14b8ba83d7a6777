"""Podman as this project drives it: runc, cgroupfs, and the ulimits some hosts need (docs/deploying.md, "Images").
Only the containers a test created are ever stopped or removed, by name."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
GLOBAL_FLAGS = ["--runtime", os.environ.get("PODMAN_RUNTIME", "runc"), "--cgroup-manager", "cgroupfs"]
RUN_LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
INSTALL_HINT = (
    "the image tests need podman, runc and debootstrap: on Debian or Ubuntu, as root, `make tools` (or "
    "`apt-get install podman runc debootstrap`); elsewhere install podman (https://podman.io/docs/installation). "
    "SKIP_IMAGES=1 skips these tests, knowingly"
)


class PodmanError(RuntimeError):
    pass


def missing() -> str | None:
    """What is missing to run the image tests here, or None."""
    tools = ["podman", os.environ.get("PODMAN_RUNTIME", "runc")]
    absent = [tool for tool in tools if shutil.which(tool) is None]
    if absent:
        return f"{', '.join(absent)} not found; {INSTALL_HINT}"
    info = subprocess.run(["podman", *GLOBAL_FLAGS, "info"], capture_output=True, text=True, check=False, timeout=60)
    if info.returncode != 0:
        return f"`podman info` fails: {info.stderr.strip()[-500:]}; {INSTALL_HINT}"
    return None


def podman(*args: str, check: bool = True, timeout: float = 120, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["podman", *GLOBAL_FLAGS, *args], capture_output=True, text=True, check=False, timeout=timeout, env=env
    )
    if check and result.returncode != 0:
        raise PodmanError(f"podman {' '.join(args[:3])} ... failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def inspect(name: str) -> dict[str, Any]:
    (found,) = json.loads(podman("inspect", "--type", "container", name))
    return dict(found)


def image_size(image: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).strip())


def image_label(image: str, label: str) -> str:
    return podman("image", "inspect", "--format", f'{{{{ index .Config.Labels "{label}" }}}}', image).strip()


def state(name: str) -> dict[str, Any]:
    return dict(inspect(name)["State"])


def logs(name: str, tail: int = 60) -> str:
    result = subprocess.run(
        ["podman", *GLOBAL_FLAGS, "logs", "--tail", str(tail), name],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return f"--- last {tail} log lines of {name} ---\n{result.stdout}{result.stderr}"


def exec_in(name: str, argv: list[str], *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *GLOBAL_FLAGS, "exec", name, *argv], capture_output=True, text=True, check=False, timeout=timeout
    )


RUNTIME_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv")  # podman mounts them


def root_writes(name: str) -> list[str]:
    """What changed in the container's root filesystem (`podman diff`), less what the runtime itself made: the mount
    points of its volumes and of the files it provides, and their parent directories. A file a process wrote outside
    its volumes stays in the list."""
    config = inspect(name)
    destinations = [
        *RUNTIME_FILES,
        *(m["Destination"] for m in config["Mounts"]),
        *(config["HostConfig"]["Tmpfs"] or {}),
    ]
    mounts = [re.sub(r"^/var/run/", "/run/", path) for path in destinations]  # /var/run links to /run in the image

    def made_by_runtime(path: str) -> bool:
        return any(mount == path or mount.startswith(path.rstrip("/") + "/") for mount in mounts)

    changes = [line.split(" ", 1) for line in podman("diff", name).splitlines() if line.strip()]
    return [f"{kind} {path}" for kind, path in changes if not made_by_runtime(path)]


def remove(name: str) -> None:
    subprocess.run(
        ["podman", *GLOBAL_FLAGS, "rm", "--force", "--time", "0", name], capture_output=True, check=False, timeout=120
    )


def build_images(**env: str) -> subprocess.CompletedProcess[str]:
    """`make images` (scripts/images.sh) with podman: it builds only what changed."""
    return subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "images.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
        cwd=REPO_ROOT,
        env={**os.environ, "CONTAINER_ENGINE": "podman", **env},
    )


def inspect_image_id(image: str) -> str:
    return podman("image", "inspect", "--format", "{{.Id}}", image).strip()


def remove_orphans(label: str) -> list[str]:
    """Containers an earlier, interrupted run of these tests left behind (their `<label>.pid` process is gone).
    Detached containers outlive a killed pytest, and would hold their ports and CPU."""
    rows = podman(
        "ps", "--all", "--filter", f"label={label}", "--format", f'{{{{.Names}}}} {{{{ index .Labels "{label}.pid" }}}}'
    )
    orphans = []
    for row in rows.splitlines():
        name, _, pid = row.partition(" ")
        if not pid.strip().isdigit() or not Path(f"/proc/{pid.strip()}").exists():
            remove(name)
            orphans.append(name)
    return orphans
