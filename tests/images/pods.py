"""A rendered pod as a podman container, the way a kubelet would run it: the container's command and args, its env and
envFrom resolved from the rendered ConfigMaps and Secrets (`$(VAR)` expanded as Kubernetes does), the merged security
context, emptyDirs as tmpfs of their sizeLimit, and the resources podman can apply. Nothing is typed again here: what
the chart renders is what runs. Only the host network differs (the pod's IP is 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POD_IP = "127.0.0.1"


class Unsupported(ValueError):
    """The rendered pod uses something this translation does not do yet; the message says what."""


@dataclass
class Pod:
    workload: dict[str, Any]  # the Deployment or Job
    objects: list[dict[str, Any]]  # the render it came from: its ConfigMaps and Secrets resolve envFrom
    secret_overrides: dict[str, str] = field(default_factory=dict)  # Secret key -> value, wherever the key appears

    @property
    def name(self) -> str:
        return str(self.workload["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.workload["metadata"].get("namespace", "default"))

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.workload["spec"]["template"]["spec"])

    @property
    def container(self) -> dict[str, Any]:
        if self.spec.get("initContainers") or len(self.spec["containers"]) != 1:
            raise Unsupported(f"{self.name}: only pods of one container (no init containers) are translated")
        return dict(self.spec["containers"][0])

    @property
    def grace_seconds(self) -> int:
        return int(self.spec.get("terminationGracePeriodSeconds", 30))

    def port(self, port: int | str) -> int:
        """A probe's port: a number, or the name of one of the container's ports."""
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        (number,) = [p["containerPort"] for p in self.container.get("ports", []) if p.get("name") == port]
        return int(number)

    def data(self, kind: str, name: str) -> dict[str, str]:
        (obj,) = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        values = dict(obj.get("data") or {})
        if kind == "Secret":
            values = {key: base64.b64decode(value).decode() for key, value in values.items()}
        values.update(obj.get("stringData") or {})
        if kind == "Secret":
            values.update({k: v for k, v in self.secret_overrides.items() if k in values})
        return values

    def env(self, pod_name: str) -> dict[str, str]:
        """envFrom, then env (which wins), each value's `$(VAR)` expanded against what is defined before it."""
        container, env = self.container, {}
        for source in container.get("envFrom", []):
            kind, ref = _reference(source, "configMapRef", "secretRef")
            for key, value in self.data(kind, ref["name"]).items():
                env[source.get("prefix", "") + key] = value
        fields = {
            "metadata.name": pod_name,
            "metadata.namespace": self.namespace,
            "status.podIP": POD_IP,
            "spec.nodeName": "localhost",
            "spec.serviceAccountName": self.spec.get("serviceAccountName", ""),
        }
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = expand(str(item["value"]), env)
                continue
            source = item["valueFrom"]
            if "fieldRef" in source:
                env[item["name"]] = fields[source["fieldRef"]["fieldPath"]]
            elif "secretKeyRef" in source or "configMapKeyRef" in source:
                kind, ref = _reference(source, "configMapKeyRef", "secretKeyRef")
                env[item["name"]] = self.data(kind, ref["name"])[ref["key"]]
            else:
                raise Unsupported(f"{self.name}: env {item['name']} from {sorted(source)}")
        return env

    def run_args(self, container_name: str, pod_name: str, workdir: Path) -> list[str]:
        """`podman run` arguments (before the image) and, after the image reference, the command line."""
        container, env = self.container, self.env(pod_name)
        env_file = workdir / f"{container_name}.env"
        if any("\n" in value for value in env.values()):
            raise Unsupported(f"{self.name}: an environment value spans lines; podman's env file cannot carry it")
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        env_file.chmod(0o600)
        args = [
            "run",
            "--detach",
            "--name",
            container_name,
            "--hostname",
            pod_name,
            "--network",
            "host",
            "--pull",
            "never",
            "--env-file",
            str(env_file),
            "--stop-timeout",
            str(self.grace_seconds),
        ]
        args += security_args(self.spec.get("securityContext") or {}, container.get("securityContext") or {})
        args += volume_args(self, workdir / container_name)
        args += resource_args(container.get("resources") or {})
        if container.get("workingDir"):
            args += ["--workdir", container["workingDir"]]
        command = [expand(word, env) for word in container.get("command", [])]
        argv = [expand(word, env) for word in container.get("args", [])]
        if command:
            args += ["--entrypoint", json.dumps(command)]
        return [*args, container["image"], *argv]


def _reference(source: dict[str, Any], config_map_key: str, secret_key: str) -> tuple[str, dict[str, Any]]:
    """(kind, reference) of an envFrom source or a valueFrom key reference."""
    if config_map_key in source:
        return "ConfigMap", dict(source[config_map_key])
    return "Secret", dict(source[secret_key])


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)`: replaced when VAR is defined, left as it is when not; `$$` is a literal `$`."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        text,
    )


def security_args(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    merged = {**pod, **container}  # the container's settings win, as in Kubernetes
    uid, gid = merged.get("runAsUser"), merged.get("runAsGroup")
    if merged.get("runAsNonRoot") and (uid is None or int(uid) == 0):
        raise Unsupported("runAsNonRoot needs a numeric non-zero runAsUser here (the kubelet would refuse the pod)")
    args = []
    if uid is not None:
        args += ["--user", f"{uid}:{gid}" if gid is not None else str(uid)]
    for group in [pod.get("fsGroup"), *pod.get("supplementalGroups", [])]:
        if group is not None:
            args += ["--group-add", str(group)]
    if merged.get("readOnlyRootFilesystem"):
        args += ["--read-only", "--read-only-tmpfs=false"]  # only the pod's volumes are writable
    if merged.get("allowPrivilegeEscalation") is False:
        args += ["--security-opt", "no-new-privileges"]
    if merged.get("privileged"):
        args += ["--privileged"]
    capabilities = merged.get("capabilities") or {}
    args += [a for cap in capabilities.get("drop", []) for a in ("--cap-drop", cap)]
    args += [a for cap in capabilities.get("add", []) for a in ("--cap-add", cap)]
    seccomp = (merged.get("seccompProfile") or {}).get("type", "RuntimeDefault")
    if seccomp == "Unconfined":
        args += ["--security-opt", "seccomp=unconfined"]
    elif seccomp != "RuntimeDefault":  # podman's default profile is the runtime default
        raise Unsupported(f"seccompProfile {seccomp}")
    return args


def volume_args(pod: Pod, files: Path) -> list[str]:
    volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
    args = []
    for mount in pod.container.get("volumeMounts", []):
        volume, path = volumes[mount["name"]], mount["mountPath"]
        if mount.get("subPath"):
            raise Unsupported(f"{pod.name}: subPath mounts")
        mode = "ro" if mount.get("readOnly") else "rw"
        if "emptyDir" in volume:
            size = (volume["emptyDir"] or {}).get("sizeLimit")
            options = [mode, "nosuid", "nodev", "mode=0777", *([f"size={int(quantity(size))}"] if size else [])]
            args += ["--tmpfs", f"{path}:{','.join(options)}"]
        elif "configMap" in volume or "secret" in volume:
            kind, name = (
                ("ConfigMap", volume["configMap"]["name"])
                if "configMap" in volume
                else ("Secret", volume["secret"]["secretName"])
            )
            directory = files / mount["name"]
            directory.mkdir(parents=True, exist_ok=True)
            for key, value in pod.data(kind, name).items():
                (directory / key).write_text(value)
            args += ["--volume", f"{directory}:{path}:ro"]
        else:
            raise Unsupported(f"{pod.name}: volume {mount['name']} of type {sorted(set(volume) - {'name'})}")
    return args


def resource_args(resources: dict[str, Any]) -> list[str]:
    """Limits as cgroup limits; the CPU request as cpu shares (the kubelet's 1024 per CPU); memory requests as a soft
    reservation. Ephemeral storage and extended resources have no podman equivalent here."""
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    args = []
    if "memory" in limits:
        args += ["--memory", str(int(quantity(limits["memory"])))]
    if "cpu" in limits:
        args += ["--cpus", f"{quantity(limits['cpu']):g}"]
    if "cpu" in requests:
        args += ["--cpu-shares", str(max(2, int(quantity(requests["cpu"]) * 1024)))]
    if "memory" in requests:
        args += ["--memory-reservation", str(int(quantity(requests["memory"])))]
    return args


_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity: `512Mi` -> bytes, `250m` -> 0.25."""
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    for suffix, factor in _SUFFIXES.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)
