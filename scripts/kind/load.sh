#!/usr/bin/env bash
# make kind-load: copy the images `make images` built into the kind node, so pods start without a registry.
# Through an archive, which works for docker and podman alike.
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tools kind
engine="$(container_engine)"
use_engine_for_kind "$engine"
require_cluster

tag="$(image_tag)"
archive_dir="$(mktemp -d)"
trap 'rm -rf "$archive_dir"' EXIT
for name in "${IMAGE_NAMES[@]}"; do
  image="$name:$tag"
  "$engine" image inspect "$image" >/dev/null 2>&1 || die "image $image not found: run \`make images\` first"
  archive="$archive_dir/${name//\//-}.tar"
  log "loading $image into kind cluster $CLUSTER_NAME"
  "$engine" save -o "$archive" "$image"
  kind load image-archive "$archive" --name "$CLUSTER_NAME"
done
log "next: make deploy"
