#!/usr/bin/env bash
# Prints the base image both Dockerfiles build FROM (their PYTHON_IMAGE build argument), building it first when needed.
#
# - PYTHON_IMAGE set: that image, untouched (pin it by digest there).
# - docker: nothing to do, prints nothing; the Dockerfiles' default base is pulled by the build.
# - podman and a registry that answers: the default base, pulled under its full name (docker.io/library/...).
# - otherwise (podman with no reachable registry, as on a sandboxed build machine): Debian bookworm's own python3
#   from Debian's packages (debootstrap --variant=minbase), `python` linked to python3 as the official images do,
#   the machine's CA bundle inside (pip in the build then trusts a TLS-intercepting proxy), imported as LOCAL_BASE.
#   The mirror is the one this machine's apt is configured with; none is written into the repository.
# Built once per machine: an existing LOCAL_BASE is reused (`podman rmi` it to rebuild).
set -euo pipefail
# shellcheck source=scripts/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kind/lib.sh"

LOCAL_BASE="${LOCAL_BASE:-localhost/python:3.11-bookworm-local}"
SUITE=bookworm  # Debian 12: python3 is 3.11, the version the Dockerfiles' default base carries

if [ -n "${PYTHON_IMAGE:-}" ]; then
  echo "$PYTHON_IMAGE"
  exit 0
fi
engine="$(container_engine)"
[ "$engine" = podman ] || exit 0
default_base="$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$CELERITY_ROOT/services/Dockerfile")"
# The official image, fully qualified: podman resolves short names only where registries.conf says how.
official="docker.io/library/$default_base"
if podman_cmd image exists "$official" || podman_cmd pull --quiet "$official" >/dev/null 2>&1; then
  echo "$official"
  exit 0
fi
if podman_cmd image exists "$LOCAL_BASE"; then
  echo "$LOCAL_BASE"
  exit 0
fi

log "the base $default_base cannot be pulled; building $LOCAL_BASE from Debian's packages instead"
require_tools debootstrap
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root to build $LOCAL_BASE"
# The machine's own Debian mirror for the suite, from apt's configuration (apt-get indextargets reads both
# sources.list and deb822 .sources files).
# shellcheck disable=SC2016  # $(SITE) and the like are apt's placeholders, not shell expansions
mirror="$(apt-get indextargets --format '$(SITE) $(CODENAME) $(COMPONENT)' 2>/dev/null \
  | awk -v suite="$SUITE" '$2 == suite && $3 == "main" && $1 !~ /security/ { print $1; exit }')"
[ -n "$mirror" ] || die "no apt source for Debian $SUITE main on this machine (run apt-get update, or set PYTHON_IMAGE)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca_bundle" ] || die "no CA bundle at $ca_bundle (apt-get install ca-certificates)"

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/celerity-base.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
log "debootstrap $SUITE (minbase + python3, python3-venv, ca-certificates) from this machine's apt mirror"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$rootfs" "$mirror" >&2 \
  || die "debootstrap failed; see $rootfs/debootstrap/debootstrap.log"
ln -sf python3 "$rootfs/usr/bin/python"
cp "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
# What a container never needs: apt's package lists and caches, documentation and manual pages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
  "$rootfs"/usr/share/info/* "$rootfs/debootstrap"
tar -C "$rootfs" -c . | podman_cmd import --quiet --change 'CMD ["python3"]' - "$LOCAL_BASE" >/dev/null
log "built $LOCAL_BASE ($(podman_cmd image inspect --format '{{.Size}}' "$LOCAL_BASE") bytes)"
echo "$LOCAL_BASE"
