#!/usr/bin/env bash
# Installs promtool (from Debian's `prometheus` package) when it is missing and this shell may install packages.
# The alert-rule tests need it; without it they fail with a message that says how to get it.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo ">> promtool is missing; install Debian's 'prometheus' package (or put promtool on PATH) for the alert tests" >&2
  exit 0
fi
echo ">> installing promtool (Debian package 'prometheus', no recommends)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package starts a Prometheus service where an init system runs; we only want the promtool binary.
if command -v service >/dev/null 2>&1; then
  service prometheus stop >/dev/null 2>&1 || true
fi
promtool --version | head -1
