#!/usr/bin/env bash
# make kind-down: delete the kind cluster and everything in it.
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools kind
engine="$(container_engine)"
use_engine_for_kind "$engine"

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  log "deleting kind cluster $CLUSTER_NAME"
  kind delete cluster --name "$CLUSTER_NAME"
else
  log "no kind cluster named $CLUSTER_NAME; nothing to delete"
fi
