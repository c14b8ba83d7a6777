"""Without podman the image tests fail, saying what to install; only SKIP_IMAGES=1 skips them (CI never sets it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images import podman

ONE_TEST = "tests/images/test_containers.py::test_the_chart_runs_every_required_workload_from_our_images"


def test_missing_podman_is_named_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    message = podman.missing()
    assert message is not None
    assert message.startswith("podman, runc not found")
    assert "apt-get install podman runc debootstrap" in message
    assert "SKIP_IMAGES=1" in message


def _pytest_without_podman(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    return subprocess.run(
        [sys.executable, "-m", "pytest", ONE_TEST, "-q", "-p", "no:cacheprovider"],
        env={**os.environ, "PATH": str(bin_dir), **env},
        cwd=podman.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_without_podman_the_image_tests_fail_and_say_what_to_install(tmp_path: Path) -> None:
    result = _pytest_without_podman(tmp_path)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "cannot build or run the images: podman, runc not found" in result.stdout
    assert "1 error" in result.stdout


@pytest.mark.slow
def test_only_skip_images_skips_them(tmp_path: Path) -> None:
    result = _pytest_without_podman(tmp_path, SKIP_IMAGES="1")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 skipped" in result.stdout
    assert "SKIP_IMAGES=1" in result.stdout
