#!/usr/bin/env bash
# Installs, from Debian's packages, the tools some tests need when they are missing and this shell may install
# packages: promtool (the `prometheus` package) for the alert-rule tests; podman, runc and debootstrap for the image
# tests (tests/images/, which build both images and run the chart's pods as containers). Without them those tests
# fail with a message that says what to install.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo ">> missing Debian packages: ${missing[*]}; install them for the alert-rule tests (prometheus: promtool)" \
    "and the image tests (podman, runc, debootstrap)" >&2
  exit 0
fi
echo ">> installing ${missing[*]} (Debian packages, no recommends)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The prometheus package starts a Prometheus service where an init system runs; we only want the promtool binary.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v service >/dev/null 2>&1; then
  service prometheus stop >/dev/null 2>&1 || true
fi
if command -v promtool >/dev/null 2>&1; then promtool --version | head -1; fi
if command -v podman >/dev/null 2>&1; then podman --version; fi
