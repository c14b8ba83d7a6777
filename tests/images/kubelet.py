"""The kubelet's part, for containers started from rendered pods: start one, wait for its startup probe, call every
probe the chart declares the way the kubelet calls it (httpGet on the pod's IP and the named port, exec inside the
container, tcpSocket), run a Job to completion, stop a pod (preStop hook, then SIGTERM, then the grace period)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.images import podman
from tests.images.pods import POD_IP, Pod

PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
LABEL = "dev.celerity.test"  # on every container a test starts, with the pid of the test process
STARTUP_DEADLINE = 240.0  # only stops a hung test: two shared cores may start four containers at once


@dataclass
class Running:
    pod: Pod
    container: str  # podman's container name
    pod_name: str  # its hostname and POD_NAME
    started: float = 0.0  # seconds from `podman run` to its startup probe's first success

    def logs(self) -> str:
        return podman.logs(self.container)


def run(pod: Pod, *, suffix: str, workdir: Path, extra: list[str] | None = None) -> Running:
    """`podman run` the pod's container (extra: arguments placed before the image, e.g. a kubeconfig mount)."""
    pod_name = f"{pod.name}-{suffix}"
    container = f"{pod_name}-test"
    args = pod.run_args(container, pod_name, workdir)
    image_at = args.index(pod.container["image"])
    podman.remove(container)  # a leftover of an interrupted run of this same test
    labels = ["--label", f"{LABEL}=images", "--label", f"{LABEL}.pid={os.getpid()}"]
    try:
        podman.podman(*args[:image_at], *podman.RUN_LIMITS, *labels, *(extra or []), *args[image_at:])
    except podman.PodmanError:
        podman.remove(container)  # created but never started
        raise
    return Running(pod, container, pod_name)


def call_probe(running: Running, probe: dict[str, Any]) -> tuple[bool, str]:
    """One probe call: (success, what was seen)."""
    timeout = float(probe.get("timeoutSeconds", 1))
    if "httpGet" in probe:
        get = probe["httpGet"]
        url = (
            f"{get.get('scheme', 'HTTP').lower()}://{get.get('host', POD_IP)}:{running.pod.port(get['port'])}"
            f"{get.get('path', '/')}"
        )
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
        try:
            response = requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return False, f"GET {url}: {exc}"
        return 200 <= response.status_code < 400, f"GET {url}: {response.status_code} {response.text[:200]}"
    if "exec" in probe:
        try:
            result = podman.exec_in(running.container, probe["exec"]["command"], timeout=timeout + 5)
        except subprocess.TimeoutExpired:
            return False, f"exec {probe['exec']['command']}: timed out"
        return result.returncode == 0, f"exec {probe['exec']['command']}: {result.returncode} {result.stderr[-200:]}"
    if "tcpSocket" in probe:
        port = running.pod.port(probe["tcpSocket"]["port"])
        try:
            socket.create_connection((POD_IP, port), timeout=timeout).close()
        except OSError as exc:
            return False, f"tcp {port}: {exc}"
        return True, f"tcp {port}: connected"
    raise AssertionError(f"{running.pod.name}: a probe of a kind the image test does not call: {sorted(probe)}")


def wait_started(running: Running, *, deadline: float = STARTUP_DEADLINE) -> None:
    """Until the startup probe (else the readiness probe) succeeds; fails at once if the container exits."""
    container = running.pod.container
    probe = container.get("startupProbe") or container.get("readinessProbe")
    began = time.monotonic()
    seen = "no probe declared"
    while time.monotonic() - began < deadline:
        state = podman.state(running.container)
        if not state["Running"]:
            raise AssertionError(f"{running.container} exited ({state['ExitCode']}) while starting\n{running.logs()}")
        if probe is None:
            break
        ok, seen = call_probe(running, probe)
        if ok:
            running.started = time.monotonic() - began
            return
        time.sleep(0.5)
    else:
        raise AssertionError(f"{running.container} did not start within {deadline:.0f}s: {seen}\n{running.logs()}")


def declared_probes(running: Running) -> dict[str, dict[str, Any]]:
    return {kind: running.pod.container[kind] for kind in PROBES if kind in running.pod.container}


def run_job(pod: Pod, *, suffix: str, workdir: Path) -> tuple[Running, int]:
    """A Job's pod to completion: (the container, its exit code); bounded by the Job's activeDeadlineSeconds."""
    running = run(pod, suffix=suffix, workdir=workdir)
    limit = float(pod.workload["spec"].get("activeDeadlineSeconds", 600))
    result = podman.podman("wait", running.container, timeout=limit)
    return running, int(result.strip().splitlines()[-1])


def stop(running: Running) -> tuple[int, float]:
    """What the kubelet does to a terminating pod: the preStop hook, then SIGTERM, then SIGKILL after the grace
    period. (exit code, seconds it took)."""
    grace = running.pod.grace_seconds
    began = time.monotonic()
    hook = ((running.pod.container.get("lifecycle") or {}).get("preStop") or {}).get("exec")
    if hook:
        result = podman.exec_in(running.container, hook["command"], timeout=grace)
        assert result.returncode == 0, f"{running.container}: preStop {hook['command']} failed: {result.stderr}"
    remaining = max(1, int(grace - (time.monotonic() - began)))
    podman.podman("stop", "--time", str(remaining), running.container, timeout=grace + 60)
    return int(podman.state(running.container)["ExitCode"]), time.monotonic() - began
