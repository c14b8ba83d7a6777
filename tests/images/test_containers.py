"""Both images built and the chart's pods run as real containers (podman), each with the container spec the chart
renders: the migration Job completes, every probe answers as the kubelet calls it, chunked and chord jobs submitted to
the containerised web come out right on the containerised workers, the operator container scales a pool on backlog
through a Kubernetes API (kmock), SIGTERM on a busy worker loses nothing, and no container writes outside its volumes.
Redis and Postgres are the host's. Needs podman and runc (`make tools`); SKIP_IMAGES=1 skips, knowingly.
The tests share one stack and run in file order: the ones that stop containers come last."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.images import apiserver, kubelet, podman
from tests.images.conftest import TOKEN, Stack
from tests.images.pods import quantity

# The first test also waits for the module's fixtures: on a fresh machine, a Debian base (about a minute) and both
# builds (about a minute each) come before the containers start.
pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(1200)]
REQUIRED = {"celerity-migrate", "celerity-web", "celerity-worker-default", "celerity-worker-bulk", "celerity-operator"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def submit(stack: Stack, **job: Any) -> str:
    response = requests.post(stack.url("/api/jobs"), json=job, headers=AUTH, timeout=30)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def job_state(stack: Stack, job_id: str) -> dict[str, Any]:
    response = requests.get(stack.url(f"/api/jobs/{job_id}"), headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def finished(stack: Stack, job_id: str, *, within: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while (job := job_state(stack, job_id))["status"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} after {within:.0f}s: {job}"
        time.sleep(0.5)
    return job


def assert_correct(job: dict[str, Any], items: int) -> None:
    assert job["status"] == "succeeded", f"{job['status']}: {job['error']!r}, progress {job['progress']}"
    assert job["result"] == {"sum": sum(i * i for i in range(items)), "count": items}, job


def test_the_chart_runs_every_required_workload_from_our_images(stack: Stack, images: dict[str, str]) -> None:
    assert set(stack.pods) >= REQUIRED
    for name in REQUIRED - {"celerity-operator"}:
        assert stack.pods[name].container["image"] == images["services"]
    assert stack.pods["celerity-operator"].container["image"] == images["operator"]


def test_an_image_whose_inputs_are_unchanged_is_not_rebuilt(images: dict[str, str]) -> None:
    before = {image: podman.inspect_image_id(image) for image in images.values()}
    result = podman.build_images()
    assert result.returncode == 0, result.stderr
    for image in images.values():
        assert f"{image} is up to date" in result.stderr
        assert podman.inspect_image_id(image) == before[image]


def test_the_images_carry_no_installer(images: dict[str, str]) -> None:
    find = "import importlib.util as u; print(u.find_spec('pip'), u.find_spec('setuptools'))"
    for image in images.values():
        python = podman.podman("run", "--rm", *podman.RUN_LIMITS, "--entrypoint", '["python","-c"]', image, find)
        assert python.split() == ["None", "None"], f"{image} carries an installer: {python}"


def test_the_migration_job_completes(stack: Stack) -> None:
    assert stack.exit_codes == {"celerity-migrate": 0}
    assert "Applying jobs.0001" in stack.running["celerity-migrate"].logs(), "a fresh database was migrated"


def test_every_probe_the_chart_declares_answers_as_the_kubelet_calls_it(stack: Stack) -> None:
    failures = []
    for name, running in stack.running.items():
        if running.pod.workload["kind"] != "Deployment":
            continue
        probes = kubelet.declared_probes(running)
        assert probes, f"{name} declares no probe"
        for kind, probe in probes.items():
            ok, seen = kubelet.call_probe(running, probe)
            if not ok:
                failures.append(f"{name} {kind}: {seen}")
        print(f"{name}: started in {running.started:.1f}s; probes {sorted(probes)} answered")
    assert not failures, failures


def test_the_containers_run_with_the_rendered_security_context_and_limits(stack: Stack) -> None:
    for name, running in stack.running.items():
        if running.pod.workload["kind"] != "Deployment":
            continue
        context = {**running.pod.spec["securityContext"], **running.pod.container["securityContext"]}
        identity = podman.exec_in(running.container, ["sh", "-c", "id -u; id -g; grep ^CapEff /proc/1/status"])
        uid, gid, caps = identity.stdout.split("\n")[:3]
        assert (int(uid), int(gid)) == (context["runAsUser"], context["runAsGroup"]), name
        assert caps.split()[1] == "0000000000000000", f"{name}: capabilities left: {caps}"
        assert "NoNewPrivs:\t1" in podman.exec_in(running.container, ["cat", "/proc/1/status"]).stdout, name
        limit = running.pod.container["resources"]["limits"]["memory"]
        assert podman.inspect(running.container)["HostConfig"]["Memory"] == int(quantity(limit)), name


def test_chunked_and_chord_jobs_complete_on_the_containerised_workers(stack: Stack) -> None:
    chunked = submit(stack, workload="chunked", items=500, chunk_size=25)  # items on bulk, bookkeeping on default
    chord = submit(stack, workload="chord", items=150)  # default
    assert_correct(finished(stack, chunked), 500)
    assert_correct(finished(stack, chord), 150)


@pytest.mark.asyncio
async def test_the_operator_container_scales_a_pool_on_backlog(
    stack: Stack, kmock: Any, generate_names: None, namespace_paths: None, tmp_path: Path
) -> None:
    pod = stack.pods["celerity-operator"]
    cluster = apiserver.cluster_from_render(kmock, pod, replicas=1)
    mount = apiserver.kubeconfig_mount(kmock, tmp_path)
    operator = kubelet.run(pod, suffix=str(uuid.uuid4())[:8], workdir=stack.workdir, extra=mount)
    bulk = ("apps/v1/deployments", pod.namespace, "celerity-worker-bulk")
    try:
        await asyncio.to_thread(kubelet.wait_started, operator)  # kmock answers on this loop meanwhile
        job = await asyncio.to_thread(submit, stack, workload="chunked", items=3000, chunk_size=5, item_cost_ms=10)
        deadline = time.monotonic() + 120
        while kmock.objects[bulk]["spec"]["replicas"] <= 1:
            state = await asyncio.to_thread(podman.state, operator.container)
            assert state["Running"], f"the operator exited ({state['ExitCode']})\n{operator.logs()}"
            assert time.monotonic() < deadline, f"no scale-up of the bulk pool within 120 s\n{operator.logs()}"
            await asyncio.sleep(0.5)
        for kind, probe in kubelet.declared_probes(operator).items():
            ok, seen = await asyncio.to_thread(kubelet.call_probe, operator, probe)
            assert ok, f"operator {kind}: {seen}"
        code, took = await asyncio.to_thread(kubelet.stop, operator)
        assert code == 0, f"the operator exited {code} on SIGTERM\n{operator.logs()}"
        assert took < pod.grace_seconds
        assert await asyncio.to_thread(podman.root_writes, operator.container) == []
    finally:
        podman.remove(operator.container)
    assert "ScaledUp" in cluster.reasons()
    assert not cluster.uncovered_requests(), "the operator made calls its RBAC rules do not allow"
    print(f"operator: bulk scaled 1 -> {kmock.objects[bulk]['spec']['replicas']} replicas on backlog")
    assert_correct(await asyncio.to_thread(finished, stack, job), 3000)


def test_sigterm_on_a_busy_worker_loses_nothing_and_exits_0_within_the_grace_period(stack: Stack) -> None:
    worker = stack.running["celerity-worker-bulk"]
    items = 40
    job = submit(stack, workload="chunked", items=items, chunk_size=2, item_cost_ms=400)  # 20 tasks of 0.8 s
    deadline = time.monotonic() + 120
    while job_state(stack, job)["progress"]["done"] < 2:
        assert time.monotonic() < deadline, "the bulk worker never got busy"
        time.sleep(0.2)
    code, took = kubelet.stop(worker)
    assert code == 0, f"exit {code} on SIGTERM\n{worker.logs()}"
    assert job_state(stack, job)["status"] == "running", "the worker was stopped with work left (it was busy)"
    assert took < worker.pod.grace_seconds, f"took {took:.0f}s of a {worker.pod.grace_seconds}s grace period"
    print(f"bulk worker: SIGTERM while busy -> exit 0 in {took:.1f}s (grace {worker.pod.grace_seconds}s)")
    assert podman.root_writes(worker.container) == [], "the stopped worker wrote outside its volumes"
    podman.remove(worker.container)
    # The Deployment's replacement: a new pod (fresh emptyDirs), not the old container restarted.
    replacement = kubelet.run(worker.pod, suffix=f"{worker.pod_name.rsplit('-', 1)[-1]}-2", workdir=stack.workdir)
    stack.running["celerity-worker-bulk"] = replacement
    kubelet.wait_started(replacement)
    outcome = finished(stack, job)
    assert outcome["status"] == "succeeded", f"{outcome['error']!r}, {outcome['progress']}\n{replacement.logs()}"
    assert_correct(outcome, items)


def test_nothing_writes_outside_its_volumes(stack: Stack) -> None:
    for name, running in stack.running.items():
        assert podman.root_writes(running.container) == [], f"{name} wrote outside its volumes"
    web = stack.running["celerity-web"].container
    attempt = podman.exec_in(web, ["sh", "-c", "echo x > /app/services/written"])
    assert attempt.returncode != 0
    assert "Read-only file system" in attempt.stderr
    assert podman.exec_in(web, ["sh", "-c", "echo x > /tmp/written"]).returncode == 0, "the tmp volume is writable"


def test_the_web_stops_as_the_kubelet_stops_it(stack: Stack) -> None:
    """The preStop hook the chart declares runs in the image, then SIGTERM: gunicorn exits 0 within the grace."""
    web = stack.running["celerity-web"]
    assert (web.pod.container.get("lifecycle") or {}).get("preStop"), "the chart declares a preStop hook"
    code, took = kubelet.stop(web)
    assert code == 0, f"exit {code} on SIGTERM\n{web.logs()}"
    assert took < web.pod.grace_seconds, f"took {took:.0f}s of a {web.pod.grace_seconds}s grace period"
