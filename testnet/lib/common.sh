# Functions shared by testnet/up, testnet/down and the scenarios (sourced).
# shellcheck shell=bash
TESTNET="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO="$(cd "$TESTNET/.." && pwd)"
. "$TESTNET/lib/topology.sh"
TESTNET_STATE="${TESTNET_STATE:-$TESTNET/.state}"
export TESTNET_STATE

say() { printf 'testnet: %s\n' "$*" >&2; }
die() { printf 'testnet: error: %s\n' "$*" >&2; exit 1; }

# The client image (AUTONITY_IMAGE, or the one testnet/up built from AUTONITY_BIN): the one the
# testnet was started with (testnet/up writes it to the state, empty for the stand-in), else
# AUTONITY_IMAGE as given. Read at each use: a scenario's shell outlives the testnets it starts.
client_image() {
  if [ -e "$TESTNET_STATE/autonity-image" ]; then cat "$TESTNET_STATE/autonity-image"; else printf '%s\n' "${AUTONITY_IMAGE:-}"; fi
}

# The Compose tool: the `docker compose` plugin when present, else docker-compose (>= 1.27).
# With a client image, docker-compose.autonity.yml is added to docker-compose.yml.
dc() {
  local compose_files=(-f "$TESTNET/docker-compose.yml") img
  img=$(client_image)
  [ -z "$img" ] || compose_files+=(-f "$TESTNET/docker-compose.autonity.yml")
  if docker compose version >/dev/null 2>&1; then
    AUTONITY_IMAGE="$img" docker compose -p "$COMPOSE_PROJECT_NAME" "${compose_files[@]}" "$@"
  else
    AUTONITY_IMAGE="$img" docker-compose -p "$COMPOSE_PROJECT_NAME" "${compose_files[@]}" "$@"
  fi
}
# The services of an organisation: its validator, and its client with a client image.
org_services() { echo "${ORG_SERVICE[$1]}"; [ -z "$(client_image)" ] || echo "${ORG_CLIENT_SERVICE[$1]}"; }

# NODE_IMAGE from the last image build (compose needs it even to stop services).
NODE_IMAGE="${NODE_IMAGE:-$(cat "$TESTNET/images/.node-tag" 2>/dev/null || echo dnsceremony-node:latest)}"
export NODE_IMAGE

cid() { dc ps -q "$1" 2>/dev/null | head -n1; }
# Run a command in a service's container.
in_svc() { local s="$1"; shift; docker exec "$(cid "$s")" "$@"; }
# Is the service's container running?
running() { local c; c=$(cid "$1"); [ -n "$c" ] && [ "$(docker inspect -f '{{.State.Running}}' "$c" 2>/dev/null)" = true ]; }
exit_code() { docker inspect -f '{{.State.ExitCode}}' "$(cid "$1")" 2>/dev/null; }

# dig from inside the root server's container (the host has no route into the internal network).
qdig() { in_svc root dig +time=2 +tries=1 "$@"; }
# BIND's own validator as an oracle: delv through the testnet's resolver with the private anchor.
qdelv() { in_svc resolver delv @127.0.0.1 -a /srv/named/root.anchor +root=. "$@"; }

# Wait until every name server serves its zones, the organisation zones signed (bounded).
wait_dns() {
  local deadline=$(( $(date +%s) + ${1:-60} )) srv z ok
  while :; do
    ok=1
    for srv in root com net io uk; do
      z=$([ "$srv" = root ] && echo . || echo "$srv")
      qdig +short "@${ADDR[$srv]}" "$z" SOA 2>/dev/null | grep -q . || ok=0
    done
    for org in "${ORGS[@]}"; do
      qdig +short "@${ADDR[${ORG_SERVER_DIR[$org]}]}" "${ORG_ZONE[$org]}" DNSKEY 2>/dev/null | grep -q '^257 ' || ok=0
    done
    [ "$ok" = 1 ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 1
  done
}

# `dnsceremony check --json` (schema dnsceremony.check/v1) inside an organisation's validator (JSON on stdout, exit status kept).
check_json() {
  local org="$1"
  # The genesis this organisation built is the expected committee: all four, as the manifest says.
  in_svc "${ORG_SERVICE[$org]}" dnsceremony check --rpc http://127.0.0.1:8545 --keys /data/keys \
    --genesis /data/genesis.json --window 10s --json 2>/dev/null
}

# The compose network's name (docker-compose 1.x and the compose plugin name it alike).
net_name() { docker network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" \
  --format '{{.Name}}' | head -n1; }

# `dnsceremony verify --json` (schema dnsceremony.verify/v1) as an organisation's validator sees
# it: inside its container while it runs, else in a one-off container of the node image on the
# testnet's network with that organisation's files (a validator that refused and exited can
# still be asked).
verify_json() {
  local org="$1" svc="${ORG_SERVICE[$1]}"
  local args=(verify --manifest /etc/dnsceremony/manifest.toml --root "${ADDR[root]}"
    --anchor /etc/dnsceremony/root.key --json)
  if running "$svc"; then
    in_svc "$svc" dnsceremony "${args[@]}" 2>/dev/null
  else
    docker run --rm --network "$(net_name)" --label dnsceremony.testnet=oneoff \
      -v "$TESTNET_STATE/validators/$org/etc:/etc/dnsceremony:ro" \
      --entrypoint dnsceremony "$NODE_IMAGE" "${args[@]}" 2>/dev/null
  fi
}

# Phase reached by an organisation's validator: the ceremony's own phase (/data/ceremony.json,
# e.g. confirmed), else the entrypoint's step (/data/status.json); its exit status if it ended.
phase_of() {
  local d="$TESTNET_STATE/validators/$1/data" p="" x=""
  [ -f "$d/ceremony.json" ] && p=$(jq -r '.phase // empty' "$d/ceremony.json" 2>/dev/null)
  # With a client image the ceremony stops at `agreed`; the entrypoint's step says what follows.
  [ "$p" = agreed ] && [ -f "$d/status.json" ] && grep -q '"phase":"client-' "$d/status.json" && p=""
  [ -f "$d/status.json" ] && {
    [ -n "$p" ] || p=$(jq -r '.phase // empty' "$d/status.json" 2>/dev/null)
    x=$(jq -r 'if .exit != null then " (exit \(.exit))" else "" end' "$d/status.json" 2>/dev/null)
  }
  echo "${p:--}$x"
}

# The genesis hash an organisation built (from the ceremony state, else sha256 of genesis.json).
genesis_of() {
  local d="$TESTNET_STATE/validators/$1/data" h=""
  [ -f "$d/ceremony.json" ] && h=$(jq -r '.genesis_hash // .genesis.hash // empty' "$d/ceremony.json" 2>/dev/null)
  if [ -z "$h" ] && [ -f "$d/genesis.json" ]; then h="sha256:$(sha256sum "$d/genesis.json" | cut -c1-64)"; fi
  echo "${h:--}"
}

# One line per organisation: container status, phase, genesis hash, block height, committee check.
summary() {
  local org svc st rc js height committee
  printf '%-5s %-22s %-12s %-24s %-14s %-8s %s\n' ORG HOST CONTAINER PHASE GENESIS HEIGHT COMMITTEE
  for org in "${ORGS[@]}"; do
    svc="${ORG_SERVICE[$org]}"
    if [ -z "$(cid "$svc")" ]; then st="not-started"
    elif running "$svc"; then st="running"
    else st="exited($(exit_code "$svc"))"; fi
    height="-" committee="-"
    if [ "$st" = running ] && [ ! -e "$TESTNET_STATE/validators/$org/data/genesis.json" ]; then
      committee="(no genesis yet)"
    elif [ "$st" = running ]; then
      js=$(check_json "$org") && rc=0 || rc=$?
      # A check that made no report prints a document with `error` (unreachable, bad input).
      if [ -n "$js" ] && jq -e '.error == null' <<<"$js" >/dev/null 2>&1; then
        height=$(jq -r '.block_end' <<<"$js" 2>/dev/null)
        committee=$(jq -r '(if .ok then "ok" else "ALARM" end) + " (\(.committee | length) members"
          + (if (.missing | length) > 0 then "; missing: \(.missing | join(","))" else "" end) + ")"' <<<"$js" 2>/dev/null)
      else
        committee="check exit $rc$(jq -r '" (" + .state + ")"' <<<"$js" 2>/dev/null)"
      fi
    fi
    printf '%-5s %-22s %-12s %-24s %-14s %-8s %s\n' "$org" "${ORG_HOST[$org]}" "$st" "$(phase_of "$org")" \
      "$(genesis_of "$org" | cut -c1-14)" "$height" "$committee"
  done
  local c img
  img=$(client_image)
  [ -n "$img" ] || return 0
  for org in "${ORGS[@]}"; do
    c="${ORG_CLIENT_SERVICE[$org]}"
    if [ -z "$(cid "$c")" ]; then st="not-started"; elif running "$c"; then st="running"; else st="exited($(exit_code "$c"))"; fi
    printf '%-5s client %-10s %-12s image %s\n' "$org" "$c" "$st" "$img"
    case "$st" in exited*) printf '      %s said: %s\n' "$c" "$(client_said "$c")" ;; esac
  done
}
# What a client container said last that matters: its first panic or fatal line (a Go client
# ends with a stack trace), else its last line.
client_said() {
  local out line
  out=$(dc logs --no-color --tail 500 "$1" 2>/dev/null | sed 's/^[^|]*| //' | sed '/^[[:space:]]*$/d')
  line=$(grep -m1 -E '^(panic: |Fatal: |fatal error: )' <<<"$out" || true)
  printf '%s\n' "${line:-$(tail -n1 <<<"$out")}" | cut -c1-300
}

# Have all these services stopped (none running)?
none_running() { local s; for s in "$@"; do running "$s" && return 1; done; return 0; }

# Has every organisation passed Phase 4 (`check` exits 0 in each validator)?
all_phase4() {
  local org
  for org in "${ORGS[@]}"; do
    running "${ORG_SERVICE[$org]}" || return 1
    check_json "$org" >/dev/null || return 1
  done
}
