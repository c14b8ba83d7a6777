"""Your own job types in an image: the examples image (examples/Dockerfile, `FROM` the services image just built) runs
the chart's migration Job, web and worker pools, rendered with ci/examples-values.yaml, and a checksum job and a
word-count job submitted to its web come out right on its workers. Same host datastores and container specs as
test_containers.py; needs podman and runc (`make tools`)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.charts.rendering import REPO_ROOT, ci_values, pod_templates, render_chart
from tests.images import podman
from tests.images.conftest import Stack, host_values, started
from tests.images.datastores import host_datastores
from tests.images.pods import Pod
from tests.images.test_containers import AUTH, finished, submit

pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(1200)]
REPOSITORY = "celerity/examples"


def examples_values() -> dict[str, Any]:
    """The host's values (fresh ports, fixed secrets) with the examples' image, app and routing."""
    values = host_values()
    examples = ci_values("examples-values.yaml")
    values["image"] = {**values.get("image", {}), **examples["image"]}
    values["config"] = {**values.get("config", {}), **examples["config"]}
    return values


@pytest.fixture(scope="module")
def examples_stack(images: dict[str, str]) -> Iterator[Stack]:
    """The examples image built on the services image, then its migration Job run and its Deployments started."""
    image = f"{REPOSITORY}:{images['services'].rsplit(':', 1)[1]}"
    dockerfile = REPO_ROOT / "examples" / "Dockerfile"
    build = ["build", "--build-arg", f"SERVICES_IMAGE={images['services']}", "--file", str(dockerfile)]
    podman.podman(*build, "--tag", image, str(REPO_ROOT), timeout=600)
    names = [
        owner["metadata"]["name"]
        for owner, template in pod_templates(render_chart(examples_values(), validate=False))
        if any(c["image"] == image for c in template["spec"]["containers"])
    ]
    workdir = Path(tempfile.mkdtemp(prefix="celerity-examples-"))
    suffix = f"examples-{os.getpid()}"
    with host_datastores(workdir) as overrides:
        pods = {}
        for name in names:  # a render each: every pod gets ports of its own on the host's network
            objects = render_chart(examples_values(), validate=False)
            (owner,) = [o for o, _ in pod_templates(objects) if o["metadata"]["name"] == name]
            pods[name] = Pod(owner, objects, overrides)
        with started(pods, workdir, suffix, lambda pod: True) as stack:
            yield stack


def test_the_examples_image_runs_the_web_the_pools_and_the_migrations(examples_stack: Stack) -> None:
    assert {"celerity-migrate", "celerity-web", "celerity-worker-default", "celerity-worker-bulk"} <= set(
        examples_stack.pods
    )
    assert {pod.container["image"].split(":")[0] for pod in examples_stack.pods.values()} == {REPOSITORY}
    env = examples_stack.pods["celerity-web"].env("celerity-web")
    assert (env["CELERITY_EXTRA_APPS"], env["CELERITY_JOB_TYPE_QUEUES"]) == (
        "celerity_examples",
        "checksum=bulk,wordcount=default",
    )


def test_jobs_of_the_examples_types_complete_on_its_workers(examples_stack: Stack) -> None:
    texts = [{"name": "greeting", "text": "hello"}, {"name": "pets", "text": "the cat and the dog"}]
    checksum = finished(examples_stack, submit(examples_stack, type="checksum", items=texts))
    words = finished(examples_stack, submit(examples_stack, type="wordcount", items=texts))

    assert checksum["status"] == "succeeded", checksum
    page = requests.get(examples_stack.url(f"/api/jobs/{checksum['id']}/items"), headers=AUTH, timeout=30).json()
    assert [item["output"] for item in page["items"]] == [
        {"name": t["name"], "sha256": hashlib.sha256(t["text"].encode()).hexdigest(), "bytes": len(t["text"])}
        for t in texts
    ]
    assert words["status"] == "succeeded", words
    assert words["result"]["reduce"]["words"] == 6
    assert words["result"]["reduce"]["top"][0] == ["the", 2]
