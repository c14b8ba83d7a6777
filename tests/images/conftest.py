"""Fixtures of the image tests: podman (or a failure saying what to install), both images built (only when their
inputs changed), the chart's pods rendered for this host, the host's Redis and Postgres, and the running stack."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.servers import free_port
from tests.charts.rendering import CHART_DIR, pod_templates, render_chart
from tests.images import kubelet, podman
from tests.images.datastores import host_datastores
from tests.images.pods import Pod
from tests.operator.conftest import generate_names  # noqa: F401  # kmock names the operator's Events (a fixture)

TOKEN = "images-test-token"
LOCK = Path(tempfile.gettempdir()) / "celerity-images.lock"
COMPONENTS = ("services", "operator")
_SIZES: list[str] = []  # reported at the end of the run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SIZES:
        terminalreporter.write_sep("-", "images (tests/images)")
        for line in _SIZES:
            terminalreporter.write_line(line)


def host_values() -> dict[str, Any]:
    """Values that fit the host's network: every port value of the chart (`port`, `*Port`) a free port, since the
    pods share the host's network; fixed secrets, so every render agrees on them. Nothing else differs from the
    chart's defaults."""
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    return {**_fresh_ports(defaults), "secrets": {"apiToken": TOKEN, "djangoSecretKey": "images-test-" + "k" * 40}}


def _fresh_ports(values: dict[str, Any]) -> dict[str, Any]:
    fresh: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and (ports := _fresh_ports(value)):
            fresh[key] = ports
        elif isinstance(value, int) and not isinstance(value, bool) and (key == "port" or key.endswith("Port")):
            fresh[key] = free_port()
    return fresh


def our_images() -> set[str]:
    objects = render_chart(host_values(), validate=False)
    return {
        c["image"]
        for _, t in pod_templates(objects)
        for c in t["spec"]["containers"]
        if c["image"].split(":")[0].endswith(tuple(f"celerity/{n}" for n in COMPONENTS))
    }


def rendered_pods(secret_overrides: dict[str, str]) -> dict[str, Pod]:
    """Every workload of the chart that runs one of our images, by name, each from a render of its own: ports
    (the same value for every pool) must not collide on the host's network, so each gets fresh ones."""
    ours = our_images()
    names = [
        owner["metadata"]["name"]
        for owner, template in pod_templates(render_chart(host_values(), validate=False))
        if {c["image"] for c in template["spec"]["containers"]} & ours
    ]
    pods = {}
    for name in names:
        objects = render_chart(host_values(), validate=False)
        (owner,) = [o for o, _ in pod_templates(objects) if o["metadata"]["name"] == name]
        pods[name] = Pod(owner, objects, secret_overrides)
    return pods


@pytest.fixture
def namespace_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """kmock 0.8 reads `/api/v1/namespaces[/NAME]` as a namespace prefix with no resource (500). kopf lists them when it
    watches one namespace (the chart's --namespace). A gap of the mock: parse them as the resource they are."""
    from kmock._internal import parsing

    parse = parsing.parse_path

    def parsed(path: str) -> Any:
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "namespaces"] and len(parts) <= 4:
            name = parts[3] if len(parts) == 4 else None
            return parsing.ParsedPath(group="", version="v1", plural="namespaces", name=name)
        return parse(path)

    monkeypatch.setattr(parsing, "parse_path", parsed)


@contextlib.contextmanager
def machine_lock(*, within: float = 1200) -> Iterator[None]:
    """One image test at a time on a machine: the images' tags are the machine's, so two checkouts testing at once
    would build over each other's images. The other run finishes in minutes; this one waits for it."""
    with LOCK.open("a+") as lock:
        deadline = time.monotonic() + within
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another image test held {LOCK} for {within:.0f}s", pytrace=False)
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def images() -> Iterator[dict[str, str]]:
    """Both images, built with `make images`'s script (which skips an image whose inputs are unchanged), and this
    machine's image tests to ourselves until the module's tests are done."""
    if os.environ.get("SKIP_IMAGES") == "1":
        pytest.skip("SKIP_IMAGES=1: the images are not built or run (CI never sets it)")
    missing = podman.missing()
    if missing:
        pytest.fail(f"cannot build or run the images: {missing}", pytrace=False)
    with machine_lock():
        podman.remove_orphans(kubelet.LABEL)
        yield _built()


def _built() -> dict[str, str]:
    began = time.monotonic()
    result = podman.build_images()
    assert result.returncode == 0, f"scripts/images.sh failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    _SIZES.append(
        f"scripts/images.sh took {time.monotonic() - began:.0f}s: "
        + "; ".join(
            line.removeprefix(">> ")
            for line in result.stderr.splitlines()
            if "up to date" in line or "building" in line
        )
    )
    built = {}
    for image in sorted(our_images()):
        size = podman.image_size(image)
        _SIZES.append(f"{image}: {size / 1e6:.0f} MB")
        built[image.split(":")[0].rsplit("/", 1)[-1]] = image
    return built


@dataclass
class Stack:
    pods: dict[str, Pod]
    workdir: Path
    running: dict[str, kubelet.Running] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)  # the Jobs'

    def url(self, path: str) -> str:
        web = self.running["celerity-web"]
        return f"http://127.0.0.1:{web.pod.port('http')}{path}"


@contextlib.contextmanager
def started(pods: dict[str, Pod], workdir: Path, suffix: str, deployed: Callable[[Pod], bool]) -> Iterator[Stack]:
    """The pods' Jobs run to completion, then the Deployments `deployed` picks running and started, as a kubelet
    would; every container removed and the work directory deleted afterwards."""
    result = Stack(pods, workdir)
    try:
        for name, pod in pods.items():
            if pod.workload["kind"] == "Job":
                running, code = kubelet.run_job(pod, suffix=suffix, workdir=workdir)
                result.running[name], result.exit_codes[name] = running, code
                assert code == 0, f"the Job {name} failed ({code})\n{running.logs()}"
        for name, pod in pods.items():
            if pod.workload["kind"] == "Deployment" and deployed(pod):
                result.running[name] = kubelet.run(pod, suffix=suffix, workdir=workdir)
        for running in result.running.values():
            if running.pod.workload["kind"] == "Deployment":
                kubelet.wait_started(running)
        yield result
    finally:
        for running in result.running.values():
            podman.remove(running.container)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(images: dict[str, str]) -> Iterator[Stack]:
    """The migration Job run to completion, then every Deployment of the services image running and started.
    The operator's Deployment is left to its test, which gives it a Kubernetes API (kmock)."""
    workdir = Path(tempfile.mkdtemp(prefix="celerity-images-"))
    suffix = f"{os.getpid()}"
    with host_datastores(workdir) as overrides:
        pods = rendered_pods(overrides)
        with started(pods, workdir, suffix, lambda pod: pod.container["image"] == images["services"]) as result:
            yield result
