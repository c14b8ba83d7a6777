"""Stand-ins for docker, podman, kind, helm and kubectl, so the kind workflow scripts run here (no engine, no
cluster). Each fake appends its argv to calls.jsonl; `kubectl port-forward` serves the tests' fake jobs API
(tests/fakeapi.py), and the bulk Deployment's replicas rise with submitted work and fall once it is done."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import sys
from pathlib import Path

TOKEN = "smoke-token"
FAKE_API = Path(__file__).resolve().parents[1] / "fakeapi.py"  # the jobs API behind `kubectl port-forward`
BASIC_TOOLS = (
    "bash",
    "env",
    "dirname",
    "basename",
    "grep",
    "sed",
    "cat",
    "mktemp",
    "rm",
    "seq",
    "sleep",
    "tail",
    "curl",
)

_FAKE = r'''#!{python}
"""A fake {tool}: records argv; see tests/scripts/fakes.py."""
import base64, json, os, sys, time
from pathlib import Path

STATE = Path(os.environ["FAKE_STATE"])
tool, args = Path(sys.argv[0]).name, sys.argv[1:]
with open(STATE / "calls.jsonl", "a") as calls:
    calls.write(json.dumps([tool, *args]) + "\n")

def flag(name):
    return (STATE / name).exists()

if tool in ("docker", "podman"):
    if args[:1] == ["info"]:
        sys.exit(0 if flag(tool + "-engine") else 1)
    if args[:2] == ["image", "inspect"]:
        sys.exit(0 if flag("images-built") else 1)
    if args[:1] == ["save"]:
        Path(args[args.index("-o") + 1]).write_bytes(b"tar")
    sys.exit(0)

if tool == "kind":
    (STATE / "kind-provider").write_text(os.environ.get("KIND_EXPERIMENTAL_PROVIDER", "docker"))
    if args[:2] == ["get", "clusters"]:
        print("celerity" if flag("cluster") else "")
    elif args[:2] == ["create", "cluster"]:
        (STATE / "cluster").touch()
    elif args[:2] == ["delete", "cluster"]:
        (STATE / "cluster").unlink(missing_ok=True)
    sys.exit(0)

if tool == "helm":
    sys.exit(0)

# kubectl
while args and args[0] in ("--context", "--namespace"):
    args = args[2:]
jsonpath = next((a.split("=", 1)[1] for a in args if a.startswith("jsonpath=")), "")
if "-o" in args and args[args.index("-o") + 1].startswith("jsonpath="):
    jsonpath = args[args.index("-o") + 1].split("=", 1)[1]
if args[:1] == ["port-forward"]:
    port = int(args[2].split(":")[0])
    os.execv(sys.executable, [sys.executable, os.environ["FAKE_API"], str(port), str(STATE), "{token}"])
NAMES = {{"service": "celerity-web", "secret": "celerity-app", "deployment": "celerity-worker-bulk"}}
if args[:1] == ["get"] and "-l" in args:
    print(NAMES[args[1]], end="")
elif args[:3] == ["get", "secret", "celerity-app"]:
    print(base64.b64encode(b"{token}").decode(), end="")
elif args[:3] == ["get", "workerpool", "bulk"]:
    print("0", end="")
elif args[:3] == ["get", "deployment", "celerity-worker-bulk"]:
    # Up while work is outstanding, down a few polls after the jobs finished.
    submitted, done = flag("submitted"), flag("done")
    polls_since_done = len(list(STATE.glob("after-done-*")))
    if done:
        (STATE / f"after-done-{{polls_since_done}}").touch()
    print("3" if submitted and (not done or polls_since_done < 2) else "0", end="")
else:
    print(f"fake kubectl: {{' '.join(args)}}")
'''


def install(bin_dir: Path, state: Path, tools: tuple[str, ...]) -> None:
    """Write the fakes for `tools` into bin_dir, plus links to the basic tools the scripts need (and nothing else,
    so the real kubectl or docker on this machine stay out of sight)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    for tool in BASIC_TOOLS:
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    for tool in tools:
        path = bin_dir / tool
        path.write_text(_FAKE.format(python=sys.executable, tool=tool, token=TOKEN))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def env(bin_dir: Path, state: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": str(bin_dir),
        "HOME": str(state),
        "FAKE_STATE": str(state),
        "FAKE_API": str(FAKE_API),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        **extra,
    }


def calls(state: Path) -> list[list[str]]:
    path = state / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def token_b64() -> str:
    return base64.b64encode(TOKEN.encode()).decode()
