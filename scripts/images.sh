#!/usr/bin/env bash
# make images: build celerity/services and celerity/operator with docker or podman, whichever engine answers.
# Tagged with the chart's appVersion (IMAGE_TAG overrides), the tag the chart uses by default, never `latest`.
# PYTHON_IMAGE overrides the base image (a build argument of both Dockerfiles), e.g. to pin it by digest.
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kind/lib.sh"

engine="$(container_engine)"
tag="$(image_tag)"
[ "$tag" != latest ] || die "IMAGE_TAG=latest: pin a version (the chart refuses latest)"
build_args=()
if [ -n "${PYTHON_IMAGE:-}" ]; then
  build_args+=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
fi

for component in services operator; do
  image="celerity/$component:$tag"
  log "building $image with $engine ($component/Dockerfile)"
  "$engine" build ${build_args[@]+"${build_args[@]}"} \
    --file "$CELERITY_ROOT/$component/Dockerfile" --tag "$image" "$CELERITY_ROOT"
done
"$engine" image ls --filter "reference=celerity/*:$tag" >&2 || true
log "next: make kind-load (kind) or push them to your registry"
