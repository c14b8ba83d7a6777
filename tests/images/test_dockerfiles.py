"""The two Dockerfiles, read as text: multi-stage, non-root, base image pinned through a build argument, hadolint-clean,
commands that match docs/conventions.md, no installer left in the final venv. The build-time collectstatic step also
runs directly here; test_containers.py builds and runs the images themselves."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images.podman import REPO_ROOT

DOCKERFILES = {"services": REPO_ROOT / "services" / "Dockerfile", "operator": REPO_ROOT / "operator" / "Dockerfile"}
HADOLINT = REPO_ROOT / ".venv" / "bin" / "hadolint"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_is_clean(name: str) -> None:
    result = subprocess.run([str(HADOLINT), str(DOCKERFILES[name])], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_multi_stage_from_a_pinned_base_argument(name: str) -> None:
    instructions = _instructions(DOCKERFILES[name])
    assert instructions[0][0] == "ARG"
    arg, _, default = instructions[0][1].partition("=")
    assert arg == "PYTHON_IMAGE"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", default), default
    froms = [args for op, args in instructions if op == "FROM"]
    assert len(froms) >= 2
    assert all(f.split()[0] == "${PYTHON_IMAGE}" for f in froms)
    assert "latest" not in DOCKERFILES[name].read_text()


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_final_stage_runs_as_a_numeric_non_root_user(name: str) -> None:
    instructions = _instructions(DOCKERFILES[name])
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args for op, args in final if op == "USER"]
    assert users, "no USER in the final stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit()
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0
    assert any(op == "COPY" and "--from=build" in args for op, args in final)  # only artifacts, no build tools


def test_services_image_runs_from_services_with_the_web_command() -> None:
    instructions = _instructions(DOCKERFILES["services"])
    assert ("WORKDIR", "/app/services") in instructions
    (cmd,) = [args for op, args in instructions if op == "CMD"]
    assert cmd == '["gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"]'
    assert any(op == "COPY" and "requirements/services.txt" in args for op, args in instructions)


def test_operator_image_runs_kopf_standalone() -> None:
    instructions = _instructions(DOCKERFILES["operator"])
    (cmd,) = [args for op, args in instructions if op == "CMD"]
    assert cmd.startswith('["kopf", "run", "--standalone", "-m", "celerity_operator"')
    assert any(op == "COPY" and "requirements/operator.txt" in args for op, args in instructions)
    assert not any("services" in args for op, args in instructions if op == "COPY")  # no Django in the operator


def test_dockerignore_sends_only_what_the_images_copy() -> None:
    lines = [line for line in (REPO_ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "*"
    included = {line[1:] for line in lines if line.startswith("!")}
    assert included == {"requirements/services.txt", "requirements/operator.txt", "services/", "operator/"}
    for name, path in DOCKERFILES.items():
        for op, args in _instructions(path):
            if op == "COPY" and "--from" not in args:
                source = args.split()[0]
                assert any(source.startswith(i.rstrip("/")) for i in included), (name, source)


def test_build_time_collectstatic_works_with_production_settings(tmp_path: Path) -> None:
    """The RUN step's throwaway environment is enough for production settings (which insist on every secret)."""
    (run,) = [args for op, args in _instructions(DOCKERFILES["services"]) if op == "RUN" and "collectstatic" in args]
    words = shlex.split(run.split("&&")[0])
    env = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=REPO_ROOT / "services",
        env={"PATH": "/usr/bin:/bin", **env, "DJANGO_STATIC_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert any(tmp_path.iterdir())


@pytest.mark.parametrize("name", DOCKERFILES)
def test_the_final_venv_keeps_no_installer_and_no_test_suites(name: str) -> None:
    """The runtime installs nothing: pip and setuptools leave the venv before it is copied into the final stage."""
    runs = " ".join(args for op, args in _instructions(DOCKERFILES[name]) if op == "RUN")
    assert "pip uninstall --yes --quiet pip setuptools" in runs
    assert "-name tests -exec rm -rf" in runs
