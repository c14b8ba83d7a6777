#!/usr/bin/env bash
# Shared by scripts/images.sh and scripts/kind/*.sh: prerequisite checks that say how to get what is missing,
# the container engine that actually works, and the names every step agrees on. Source it; do not run it.

CELERITY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART_DIR="$CELERITY_ROOT/charts/celerity"
KIND_CONFIG="$CELERITY_ROOT/scripts/kind/cluster.yaml"
KIND_VALUES="$CHART_DIR/ci/values-kind.yaml"
CLUSTER_NAME="${KIND_CLUSTER_NAME:-celerity}"
KUBE_CONTEXT="kind-$CLUSTER_NAME"
NAMESPACE="${CELERITY_NAMESPACE:-celerity}"
RELEASE="${CELERITY_RELEASE:-celerity}"
# shellcheck disable=SC2034  # read by the scripts that source this file
IMAGE_NAMES=(celerity/services celerity/operator)
export CELERITY_ROOT CHART_DIR KIND_CONFIG KIND_VALUES CLUSTER_NAME KUBE_CONTEXT NAMESPACE RELEASE

log() { printf '>> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# How to get each tool, printed when it is missing.
install_hint() {
  case "$1" in
    docker) echo "Docker Engine: https://docs.docker.com/engine/install/ (or use podman)" ;;
    podman) echo "Podman: https://podman.io/docs/installation (or use docker)" ;;
    kind) echo "kind >= v0.24: https://kind.sigs.k8s.io/docs/user/quick-start/#installation (go install sigs.k8s.io/kind@v0.24.0)" ;;
    helm) echo "Helm >= 3.14: https://helm.sh/docs/intro/install/" ;;
    kubectl) echo "kubectl >= 1.30: https://kubernetes.io/docs/tasks/tools/#kubectl" ;;
    curl) echo "curl: your distribution's package (apt-get install curl)" ;;
    python3) echo "Python 3: your distribution's package (apt-get install python3)" ;;
    *) echo "$1: install it and put it on PATH" ;;
  esac
}

# require_tools kind helm kubectl: every missing tool is listed with its install hint, then the script exits 1.
require_tools() {
  local missing=0 tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      printf 'missing: %s\n  get it: %s\n' "$tool" "$(install_hint "$tool")" >&2
      missing=1
    fi
  done
  if [ "$missing" -ne 0 ]; then
    die "prerequisites missing for $(basename "$0"); install the tools above and run it again"
  fi
}

# Prints docker or podman: the first whose engine answers (`info`), not merely whose CLI exists.
container_engine() {
  local engine found=""
  if [ -n "${CONTAINER_ENGINE:-}" ]; then
    command -v "$CONTAINER_ENGINE" >/dev/null 2>&1 || die "CONTAINER_ENGINE=$CONTAINER_ENGINE is not on PATH"
    echo "$CONTAINER_ENGINE"
    return 0
  fi
  for engine in docker podman; do
    if command -v "$engine" >/dev/null 2>&1; then
      found="$found $engine"
      if "$engine" info >/dev/null 2>&1; then
        echo "$engine"
        return 0
      fi
    fi
  done
  if [ -n "$found" ]; then
    printf 'missing: a running container engine (found the CLI of:%s, but its "info" fails)\n' "$found" >&2
    printf '  start it: sudo systemctl start docker (or run podman as your user), or point DOCKER_HOST at an engine\n' >&2
  else
    printf 'missing: docker or podman\n  get it: %s\n  or: %s\n' "$(install_hint docker)" "$(install_hint podman)" >&2
  fi
  die "prerequisites missing for $(basename "$0")"
}

# Podman's flags on every call: runc (crun fails on some hosts, CI's among them) and cgroupfs (no systemd there).
# PODMAN_RUNTIME overrides the runtime where runc is absent.
podman_cmd() {
  podman --runtime "${PODMAN_RUNTIME:-runc}" --cgroup-manager cgroupfs "$@"
}

# engine_cmd ENGINE ARGS...: run the container engine, with podman's flags when it is podman.
engine_cmd() {
  local engine="$1"
  shift
  if [ "$engine" = podman ]; then podman_cmd "$@"; else "$engine" "$@"; fi
}

# kind drives podman only when told to.
use_engine_for_kind() {
  if [ "$1" = podman ]; then
    export KIND_EXPERIMENTAL_PROVIDER=podman
  fi
}

# The chart's appVersion: the images' tag, which the chart uses by default, so nothing needs overriding.
chart_app_version() {
  local version
  version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$CHART_DIR/Chart.yaml")"
  [ -n "$version" ] || die "no appVersion in $CHART_DIR/Chart.yaml"
  echo "$version"
}

image_tag() {
  echo "${IMAGE_TAG:-$(chart_app_version)}"
}

require_cluster() {
  kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME" \
    || die "no kind cluster named $CLUSTER_NAME: run \`make kind-up\` first"
}
