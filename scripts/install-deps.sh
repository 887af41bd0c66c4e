#!/usr/bin/env bash
# Install what dnsceremony's tests, benchmark and loopback demo need, when it is missing.
# Debian packages only; safe to run again.
set -euo pipefail
need=()
command -v named >/dev/null 2>&1 || need+=(bind9)
command -v delv >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v dnssec-signzone >/dev/null 2>&1 || need+=(bind9-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts named from the package; the tests run their own instances.
if command -v systemctl >/dev/null 2>&1; then systemctl stop named >/dev/null 2>&1 || true; fi
pkill -x named >/dev/null 2>&1 || true
