#!/usr/bin/env bash
# make deploy: install or upgrade the chart on the kind cluster with charts/celerity/ci/values-kind.yaml and wait
# until every pod is ready and the migrations ran.
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools kind helm kubectl
require_cluster

# Helm installs crds/ once and never upgrades it: apply the CRD first, every time (docs/deploying.md).
log "applying the WorkerPool CRD"
kubectl --context "$KUBE_CONTEXT" apply --server-side --force-conflicts -f "$CHART_DIR/crds/workerpools.yaml"

log "helm upgrade --install $RELEASE (namespace $NAMESPACE, values ${KIND_VALUES#"$CELERITY_ROOT"/})"
helm upgrade --install "$RELEASE" "$CHART_DIR" \
  --kube-context "$KUBE_CONTEXT" \
  --namespace "$NAMESPACE" --create-namespace \
  --values "$KIND_VALUES" \
  --set "image.tag=$(image_tag)" --set "operator.image.tag=$(image_tag)" \
  --wait --timeout 10m

kubectl --context "$KUBE_CONTEXT" --namespace "$NAMESPACE" get pods,workerpools
log "next: make kind-test"
