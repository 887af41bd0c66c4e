#!/usr/bin/env bash
# The main job in one command: four organisations start a private Autonity network (with the
# Autonity client stand-in) over nothing but DNSSEC-signed DNS, and a summary per organisation
# shows the status, the genesis hash, the block height and the committee check.
#   With Docker: the docker-compose testnet (testnet/up; images built from local material when
#   missing; it stays up: testnet/down removes it). As root, where no Docker daemon answers,
#   scripts/docker-up.sh installs Debian's engine and starts one.
#   Where Docker cannot run: the same ceremony on loopback BIND servers (scripts/demo-loopback.sh).
# Usage: scripts/demo.sh [--loopback] [--timeout SECS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mode=auto timeout=300
while [ $# -gt 0 ]; do
  case "$1" in
    --loopback) mode=loopback; shift ;;
    --timeout) timeout="${2-}"; shift $(( $# > 1 ? 2 : 1 )) ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument: $1" >&2; exit 3 ;;
  esac
done
[[ $timeout =~ ^[0-9]+$ ]] || { echo "demo: --timeout: not a number of seconds: '$timeout'" >&2; exit 3; }
docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
# As root a daemon is started where none answers (the testnet's base image needs root anyway).
if [ "$mode" = auto ] && [ "$(id -u)" = 0 ] && ! docker_ok; then
  bash "$repo/scripts/docker-up.sh" || echo "demo: no Docker (reason above)" >&2
fi
if [ "$mode" = auto ] && docker_ok; then
  echo "demo: Docker is usable: running the docker-compose testnet (testnet/up)" >&2
  [ "$(id -u)" = 0 ] || { echo "demo: error: building the base image (debootstrap) needs root" >&2; exit 1; }
  command -v cargo >/dev/null 2>&1 || { echo "demo: error: cargo is not installed (https://rustup.rs)" >&2; exit 1; }
  # Also installs debootstrap (the base image is built from a Debian root filesystem) and compose.
  bash "$repo/scripts/install-deps.sh" --docker
  if [ -e "$repo/testnet/.state/servers" ]; then
    echo "demo: a testnet is already up: taking it down first (testnet/down)" >&2
    "$repo/testnet/down" >/dev/null 2>&1
  fi
  "$repo/testnet/up" --timeout "$timeout"
  echo "demo: the testnet stays up: testnet/logs org1, testnet/down to remove it" >&2
else
  [ "$mode" = loopback ] || echo "demo: Docker is not usable here: running the loopback demo" >&2
  exec bash "$repo/scripts/demo-loopback.sh" --timeout "$timeout"
fi
