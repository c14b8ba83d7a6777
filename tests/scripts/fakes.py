"""Stand-ins for docker, podman, kind, helm and kubectl, so the kind workflow scripts run here (no engine, no
cluster). Each fake appends its argv to calls.jsonl; `kubectl port-forward` serves a small jobs API that behaves like
Celerity's, and the bulk Deployment's replicas rise with submitted work and fall once it is done."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import sys
from pathlib import Path

TOKEN = "smoke-token"
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
    os.execv(sys.executable, [sys.executable, os.environ["FAKE_API"], str(port)])
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

_API = r'''
"""The fake jobs API behind `kubectl port-forward`: Celerity's request and response shapes."""
import json, os, sys, uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

STATE = Path(os.environ["FAKE_STATE"])
JOBS = {}

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self):
        if self.headers.get("Authorization") != "Bearer TOKEN":
            self._send(401, {"error": "unauthorized", "message": "bad token", "fields": {}})
            return False
        return True

    def do_GET(self):
        if self.path in ("/healthz", "/readyz"):
            return self._send(200, {"status": "ok"})
        if not self._authorized():
            return
        job = JOBS[self.path.rsplit("/", 1)[1]]
        job["polls"] += 1
        body = {"id": job["id"], "workload": job["workload"], "status": "running", "result": None}
        if job["polls"] >= 3:
            n = job["items"]
            body.update(status="succeeded", result={"sum": (n - 1) * n * (2 * n - 1) // 6, "count": n})
            if (STATE / ("fail-" + job["workload"])).exists():  # a test asks this workload to fail
                body.update(status="failed", result={"sum": 0, "count": 0})
        if all(j["polls"] >= 3 for j in JOBS.values()):
            (STATE / "done").touch()
        self._send(200, body)

    def do_POST(self):
        if not self._authorized():
            return
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        job = {"id": str(uuid.uuid4()), "workload": payload["workload"], "items": payload["items"], "polls": 0}
        JOBS[job["id"]] = job
        (STATE / "submitted").touch()
        with open(STATE / "jobs.jsonl", "a") as jobs:
            jobs.write(json.dumps(payload) + "\n")
        self._send(202, {"id": job["id"], "status": "pending", "url": "/api/jobs/" + job["id"]})

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
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
    api = state / "fake_api.py"
    api.write_text(_API.replace("TOKEN", TOKEN))
    for tool in tools:
        path = bin_dir / tool
        path.write_text(_FAKE.format(python=sys.executable, tool=tool, token=TOKEN))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)


def env(bin_dir: Path, state: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": str(bin_dir),
        "HOME": str(state),
        "FAKE_STATE": str(state),
        "FAKE_API": str(state / "fake_api.py"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        **extra,
    }


def calls(state: Path) -> list[list[str]]:
    path = state / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def token_b64() -> str:
    return base64.b64encode(TOKEN.encode()).decode()
