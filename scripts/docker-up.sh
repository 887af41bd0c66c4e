#!/usr/bin/env bash
# Make a Docker daemon answer on this machine, for the testnet (testnet/) and the chart's pod test.
#   - A daemon that answers `docker info` is left alone (only compose is installed if missing).
#   - Otherwise, as root: Debian's engine (docker.io) and compose (docker-compose) are installed
#     when missing, and the daemon is started: by systemd where systemd runs, else `dockerd` in the
#     background (log: /var/log/dnsceremony-dockerd.log) with what works on this machine:
#       storage driver  overlay2 when an overlay mount works on the data root, else
#                       fuse-overlayfs (with /dev/fuse), else vfs (slow, every layer a full copy);
#       iptables        the default backend (nftables on Debian 12) when it works, else
#                       iptables-legacy, else --iptables=false (the testnet's network is internal);
#       cgroups         the mounted hierarchy; cgroup2 is mounted when none is.
#     Then waits (bounded) until `docker info` answers.
# Safe to run again. Exit status 0: a daemon answers and compose is there. 1: Docker cannot run
# here; the reason is the last line on stderr ("docker-up: Docker cannot run here: ...").
# Usage: scripts/docker-up.sh [--timeout SECS]   (default 60: how long to wait for the daemon)
set -euo pipefail
timeout=60
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout="${2-}"; shift $(( $# > 1 ? 2 : 1 )) ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "docker-up: unknown argument: $1" >&2; exit 3 ;;
  esac
done
[[ $timeout =~ ^[0-9]+$ ]] || { echo "docker-up: --timeout: not a number of seconds: '$timeout'" >&2; exit 3; }
log=/var/log/dnsceremony-dockerd.log
data_root=/var/lib/docker

say() { printf 'docker-up: %s\n' "$*" >&2; }
cannot() { printf 'docker-up: Docker cannot run here: %s\n' "$*" >&2; exit 1; }
answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
has_compose() { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; }
apt_install() { # package...
  say "installing from Debian: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || return 1
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
wait_answer() { # secs [pid]: until `docker info` answers; early failure when pid dies
  local end=$(( $(date +%s) + $1 ))
  until answers; do
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then return 1; fi
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 1
  done
}
ensure_compose() {
  has_compose && return 0
  [ "$(id -u)" = 0 ] || cannot "no Docker Compose (docker compose or docker-compose), and installing it needs root"
  apt_install docker-compose || cannot "installing docker-compose from Debian failed"
  has_compose || cannot "docker-compose was installed but does not run"
}

if answers; then
  ensure_compose
  exit 0
fi
# A daemon elsewhere (DOCKER_HOST) is not this script's to start.
case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
  unix:///var/run/docker.sock|unix:///run/docker.sock) ;;
  *) cannot "DOCKER_HOST=$DOCKER_HOST does not answer (a local daemon is not started for another host)" ;;
esac
[ "$(id -u)" = 0 ] || cannot "no Docker daemon answers, and starting one needs root (run as root, or start Docker)"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
has_compose || need+=(docker-compose)
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}" || cannot "installing ${need[*]} from Debian failed"
fi
command -v docker >/dev/null 2>&1 || cannot "docker.io is installed but there is no docker command"
has_compose || cannot "docker-compose was installed but does not run"

# A daemon that is already starting (or another one of ours) is waited for, not replaced.
if pid=$(pidof dockerd 2>/dev/null); then
  say "a dockerd runs already (pid $pid): waiting up to ${timeout}s for it to answer"
  wait_answer "$timeout" && exit 0
  cannot "a dockerd runs (pid $pid) but does not answer \`docker info\` within ${timeout}s (left alone)"
fi

# With systemd as init, the packaged service is the daemon.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  say "starting the docker service (systemd)"
  systemctl start docker >/dev/null 2>&1 || true
  wait_answer "$timeout" && { say "Docker answers (systemd service)"; exit 0; }
  cannot "systemctl start docker did not give a daemon that answers within ${timeout}s (journalctl -u docker)"
fi

# ---- dockerd by hand: cgroups, storage driver, iptables ----
args=(--data-root "$data_root" --pidfile /var/run/docker.pid)
if ! grep -qE '^[^ ]+ [^ ]+ (cgroup|cgroup2) ' /proc/mounts; then
  say "no cgroup filesystem is mounted: mounting cgroup2 on /sys/fs/cgroup"
  mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null \
    || cannot "no cgroup filesystem is mounted and mounting cgroup2 on /sys/fs/cgroup failed"
fi

mkdir -p "$data_root"
overlay_works() { # can the kernel mount an overlay whose upper layer is on the data root?
  local t rc=1
  t=$(mktemp -d "$data_root/.overlay-probe.XXXXXX")
  mkdir "$t/lower" "$t/upper" "$t/work" "$t/merged"
  if mount -t overlay overlay -o "lowerdir=$t/lower,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2>/dev/null; then
    umount "$t/merged"; rc=0
  fi
  rm -rf "$t"
  return $rc
}
if overlay_works; then
  driver=overlay2 why="overlay mounts work on $data_root"
elif [ -c /dev/fuse ]; then
  command -v fuse-overlayfs >/dev/null 2>&1 || apt_install fuse-overlayfs \
    || cannot "no overlay mount on $data_root, and installing fuse-overlayfs failed"
  driver=fuse-overlayfs why="the kernel refuses an overlay mount on $data_root; /dev/fuse is there"
else
  driver=vfs why="no overlay mount on $data_root and no /dev/fuse: vfs copies every layer (slow, large)"
fi
args+=(--storage-driver "$driver")
say "storage driver $driver ($why)"

# dockerd calls `iptables` from PATH: a private directory on PATH selects the legacy backend
# for dockerd alone, leaving the system's alternative as it is.
ipt_works() { "$1" -w -t nat -L -n >/dev/null 2>&1 && "$1" -w -t filter -L -n >/dev/null 2>&1; }
dockerd_path="$PATH"
if command -v iptables >/dev/null 2>&1 && ipt_works iptables; then
  say "iptables: $(iptables --version 2>/dev/null | head -n1)"
elif command -v iptables-legacy >/dev/null 2>&1 && ipt_works iptables-legacy; then
  shim=/var/lib/dnsceremony-dockerd/bin
  mkdir -p "$shim"
  for t in iptables ip6tables; do
    for s in "" -save -restore; do  # Debian: iptables-legacy, iptables-legacy-save, ...
      command -v "$t-legacy$s" >/dev/null 2>&1 && ln -sf "$(command -v "$t-legacy$s")" "$shim/$t$s"
    done
  done
  dockerd_path="$shim:$PATH"
  say "iptables: the default backend fails here; dockerd uses iptables-legacy"
else
  args+=(--iptables=false)
  say "iptables: no working backend: dockerd runs with --iptables=false (containers still reach each other on their network; no NAT out)"
fi

say "starting dockerd ${args[*]} (log: $log)"
touch "$log"
first=$(( $(wc -l < "$log") + 1 ))   # this start's first line in the log
{ echo "=== $(date -u +%FT%TZ) scripts/docker-up.sh: dockerd ${args[*]}"; } >> "$log"
PATH="$dockerd_path" setsid nohup dockerd "${args[@]}" >> "$log" 2>&1 < /dev/null &
pid=$!
if wait_answer "$timeout" "$pid"; then
  say "Docker answers: server $(docker version -f '{{.Server.Version}}' 2>/dev/null), storage $(docker info -f '{{.Driver}}' 2>/dev/null), cgroup v$(docker info -f '{{.CgroupVersion}}' 2>/dev/null)"
  exit 0
fi
tail -n "+$first" "$log" | tail -n 15 | sed 's/^/  dockerd: /' >&2
reason=$(tail -n "+$first" "$log" | grep -E 'level=(fatal|error)|failed to start daemon' | tail -n1 | sed -E 's/.*msg="?([^"]*)"?.*/\1/')
if kill -0 "$pid" 2>/dev/null; then
  cannot "dockerd (pid $pid, left running) did not answer within ${timeout}s${reason:+: $reason}"
fi
cannot "dockerd exited${reason:+: $reason} (log: $log)"
