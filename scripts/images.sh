#!/usr/bin/env bash
# make images: build celerity/services and celerity/operator with docker or podman, whichever engine answers.
# Tagged with the chart's appVersion (IMAGE_TAG overrides), the tag the chart uses by default, never `latest`.
# PYTHON_IMAGE overrides the base image (a build argument of both Dockerfiles), e.g. to pin it by digest. When the
# default base cannot be pulled, scripts/base-image.sh builds one from Debian's packages (docs/deploying.md).
# An image whose inputs (scripts/image_inputs.py) match its `dev.celerity.inputs` label is not rebuilt;
# FORCE_BUILD=1 rebuilds anyway.
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kind/lib.sh"

engine="$(container_engine)"
tag="$(image_tag)"
[ "$tag" != latest ] || die "IMAGE_TAG=latest: pin a version (the chart refuses latest)"
base="$(bash "$CELERITY_ROOT/scripts/base-image.sh")"
build_args=()
if [ -n "$base" ]; then
  build_args+=(--build-arg "PYTHON_IMAGE=$base")
else
  base="$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$CELERITY_ROOT/services/Dockerfile")"
fi
# The base's identity: its image ID once it is present (a retagged base changes it), else its reference.
base_id="$(engine_cmd "$engine" image inspect --format '{{.Id}}' "$base" 2>/dev/null || true)"
base_id="${base_id:-$base}"
run_limits=()
if [ "$engine" = podman ]; then
  # RUN steps are containers too: podman's default limits fail on some hosts ("error setting rlimit").
  run_limits+=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host)
fi

for component in services operator; do
  image="celerity/$component:$tag"
  inputs="$(python3 "$CELERITY_ROOT/scripts/image_inputs.py" "$component" "$base_id")"
  built="$(engine_cmd "$engine" image inspect --format '{{ index .Config.Labels "dev.celerity.inputs" }}' "$image" \
    2>/dev/null || true)"
  if [ "$built" = "$inputs" ] && [ -z "${FORCE_BUILD:-}" ]; then
    log "$image is up to date (inputs ${inputs:0:12}); FORCE_BUILD=1 rebuilds it"
    continue
  fi
  previous="$(engine_cmd "$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  log "building $image with $engine ($component/Dockerfile, base $base)"
  engine_cmd "$engine" build ${build_args[@]+"${build_args[@]}"} ${run_limits[@]+"${run_limits[@]}"} \
    --label "dev.celerity.inputs=$inputs" \
    --file "$CELERITY_ROOT/$component/Dockerfile" --tag "$image" "$CELERITY_ROOT"
  current="$(engine_cmd "$engine" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
    # The image this build replaced, unless something still uses it (another tag, a container).
    engine_cmd "$engine" image rm "$previous" >/dev/null 2>&1 || true
  fi
done
for component in services operator; do
  size="$(engine_cmd "$engine" image inspect --format '{{.Size}}' "celerity/$component:$tag" 2>/dev/null || true)"
  log "celerity/$component:$tag: ${size:-?} bytes"
done
log "next: make kind-load (kind) or push them to your registry"
