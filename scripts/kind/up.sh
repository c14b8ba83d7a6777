#!/usr/bin/env bash
# make kind-up: create the kind cluster from scripts/kind/cluster.yaml (idempotent).
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools kind kubectl
engine="$(container_engine)"
use_engine_for_kind "$engine"

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  log "kind cluster $CLUSTER_NAME already exists"
else
  log "creating kind cluster $CLUSTER_NAME ($engine) from ${KIND_CONFIG#"$CELERITY_ROOT"/}"
  kind create cluster --name "$CLUSTER_NAME" --config "$KIND_CONFIG" --wait 180s
fi
kubectl --context "$KUBE_CONTEXT" get nodes -o wide
log "next: make images kind-load deploy"
