"""scripts/image_inputs.py: the hash that decides whether `make images` rebuilds an image. It must change with
anything the build reads (the Dockerfile, a copied file, the base) and with nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts import image_inputs
from tests.images.podman import REPO_ROOT


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small repository with the real .dockerignore and a Dockerfile that copies like ours."""
    shutil.copy(REPO_ROOT / ".dockerignore", tmp_path / ".dockerignore")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "services.txt").write_text("django==5\n")
    (tmp_path / "requirements" / "operator.txt").write_text("kopf==1\n")
    (tmp_path / "services" / "config").mkdir(parents=True)
    (tmp_path / "services" / "config" / "settings.py").write_text("A = 1\n")
    (tmp_path / "services" / "Dockerfile").write_text(
        "ARG PYTHON_IMAGE=python:3.11\nFROM ${PYTHON_IMAGE} AS build\nCOPY requirements/services.txt /tmp/r.txt\n"
        "COPY services/ /app/services/\nFROM ${PYTHON_IMAGE}\nCOPY --from=build /app /app\n"
    )
    return tmp_path


def _hash(tree: Path, base: str = "sha256:base") -> str:
    return image_inputs.inputs_hash("services", base, tree)


def test_the_context_is_what_dockerignore_lets_through(tree: Path) -> None:
    (tree / "services" / "__pycache__").mkdir()
    (tree / "services" / "__pycache__" / "settings.cpython-311.pyc").write_bytes(b"\0")
    (tree / "services" / "staticfiles").mkdir()
    (tree / "services" / "staticfiles" / "app.js").write_text("x")
    (tree / "README.md").write_text("not in the context\n")
    assert list(image_inputs.context_files(tree)) == [
        "requirements/operator.txt",
        "requirements/services.txt",
        "services/config/settings.py",
    ]


def test_the_hash_follows_every_input_of_the_build(tree: Path) -> None:
    first = _hash(tree)
    assert _hash(tree) == first, "stable"
    assert _hash(tree, base="sha256:another-base") != first
    (tree / "services" / "config" / "settings.py").write_text("A = 2\n")
    second = _hash(tree)
    assert second != first
    (tree / "requirements" / "services.txt").write_text("django==6\n")
    third = _hash(tree)
    assert third != second
    with (tree / "services" / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("USER 10001:10001\n")
    assert _hash(tree) != third


def test_the_hash_ignores_what_the_build_never_reads(tree: Path) -> None:
    first = _hash(tree)
    (tree / "requirements" / "operator.txt").write_text("kopf==2\n")  # in the context, copied only by the operator
    (tree / "services" / "__pycache__").mkdir()
    (tree / "services" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (tree / "docs.md").write_text("outside the context\n")
    assert _hash(tree) == first


def test_the_copied_sources_are_read_from_the_real_dockerfiles() -> None:
    assert image_inputs.copied_sources(REPO_ROOT / "services" / "Dockerfile") == [
        "requirements/services.txt",
        "services",
    ]
    assert image_inputs.copied_sources(REPO_ROOT / "operator" / "Dockerfile") == [
        "requirements/operator.txt",
        "operator",
    ]
