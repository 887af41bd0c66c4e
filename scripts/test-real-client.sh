#!/usr/bin/env bash
# The ceremony with the real Autonity client, when one is given (no package registry carries it:
# build it from source, README "The real client"):
#   AUTONITY_BIN=/path/to/autonity       a real 0.14.x client, profile v1:
#     1. the four-organisation loopback ceremony reaches Phase 4 (scripts/demo-loopback.sh);
#     2. org1's client is frozen (SIGSTOP) for 30 s: org2's node must keep making blocks
#        (the consensus mesh survives one validator of four);
#     3. `dnsceremony check` against one node of a 20-validator genesis
#        (../shared/vectors/autonity/v1/genesis-20-validators.json, started with the keys of
#        vector 1 of v1/pop.json) reads the whole committee (chunked answers).
#   AUTONITY_V07_BIN=/path/to/autonity   a real v0.7.1 client, profile v0.7: the ceremony to Phase 4.
# Without them it says it skipped, and exits 0. Needs root (BIND on port 53 of 127.x addresses).
# Prints "N passed, M failed" at the end; exit status 0 when nothing failed.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
vectors="$repo/../shared/vectors/autonity"
passed=0 failed=0
say() { printf 'real-client: %s\n' "$*" >&2; }
ok() { passed=$((passed + 1)); say "ok: $*"; }
bad() { failed=$((failed + 1)); say "FAILED: $*"; }
if [ -z "${AUTONITY_BIN:-}" ] && [ -z "${AUTONITY_V07_BIN:-}" ]; then
  say "SKIPPED: set AUTONITY_BIN (a real 0.14.x client) and/or AUTONITY_V07_BIN (v0.7.1) to run these tests"
  exit 0
fi
for b in ${AUTONITY_BIN:+"$AUTONITY_BIN"} ${AUTONITY_V07_BIN:+"$AUTONITY_V07_BIN"}; do
  [ -f "$b" ] && [ -x "$b" ] || { say "error: not an executable file: $b"; exit 3; }
done
bash "$repo/scripts/install-deps.sh" || exit 1
command -v curl >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null || exit 1
(cd "$repo" && cargo build --release --quiet --bin dnsceremony --bin autonity-standin --example lab) || exit 1
bin="${CARGO_TARGET_DIR:-$repo/target}/release"
tmp=$(mktemp -d /tmp/dnsceremony-real.XXXXXX)
demo_pid="" node_pid=""
cleanup() {
  [ -n "$node_pid" ] && { kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; }
  [ -n "$demo_pid" ] && { kill -TERM "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rpc() { # URL METHOD [PARAMS]: the result member, or nothing
  curl -s -m 5 -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" "$1" | jq -r '.result // empty'
}
height() { local h; h=$(rpc "$1" eth_blockNumber); [ -n "$h" ] && echo $((h)) || echo -1; }

# Runs the loopback demo with client $1 and profile $2 in the background (--keep); 0 when all
# four organisations passed Phase 4 within the timeout, and $work is their work directory.
demo() {
  local log="$tmp/demo-$2.log"
  bash "$repo/scripts/demo-loopback.sh" --autonity "$1" --profile "$2" --timeout 240 --keep >"$log" 2>&1 &
  demo_pid=$!
  local t0; t0=$(date +%s)
  while kill -0 "$demo_pid" 2>/dev/null; do
    grep -q 'staying up' "$log" && break
    [ $(( $(date +%s) - t0 )) -gt 600 ] && break
    sleep 2
  done
  work=$(sed -n 's/^demo: work directory //p' "$log")
  cat "$log" >&2
  grep -q 'all four organisations passed Phase 4' "$log" && [ -n "$work" ]
}
stop_demo() {
  kill -TERM "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; demo_pid=""
}

if [ -n "${AUTONITY_BIN:-}" ]; then
  say "profile v1 with $AUTONITY_BIN ($("$AUTONITY_BIN" version 2>/dev/null | grep -m1 '^Version'))"
  if demo "$AUTONITY_BIN" v1; then
    ok "v1: four organisations reached Phase 4 with the real client"
    # org1..org4 serve JSON-RPC on 8545..8548 (scripts/demo-loopback.sh).
    pid1=$(jq -r .pid "$work/org1/client.json")
    h0=$(height http://127.0.0.1:8546)
    kill -STOP "$pid1"
    say "org1's client (pid $pid1) frozen at org2's height $h0; waiting 30 s"
    sleep 5; h5=$(height http://127.0.0.1:8546)
    sleep 25; h30=$(height http://127.0.0.1:8546)
    kill -CONT "$pid1"
    say "org2's height: $h0 at the freeze, $h5 5 s later, $h30 30 s later"
    # A frozen proposer costs a round change at its turns, so fewer than one block a second;
    # a halted chain (the star) makes none.
    if [ "$h30" -ge $((h5 + 5)) ]; then
      ok "v1: with org1 frozen, org2's chain kept advancing ($h5 -> $h30 in 25 s)"
    else
      bad "v1: with org1 frozen, org2's chain stalled ($h5 -> $h30 in 25 s)"
    fi
  else
    bad "v1: the ceremony did not reach Phase 4 with the real client"
  fi
  stop_demo

  # One node of the 20-validator genesis (vector 1's identity): the committee is readable at block 0.
  g20="$vectors/v1/genesis-20-validators.json"
  d="$tmp/node20"; mkdir -p "$d/keys"
  keys=$(jq -r '.[0] | .node_key + .consensus_key' "$vectors/v1/pop.json")
  (umask 077; printf '%s' "$keys" > "$d/keys/autonitykeys")
  "$AUTONITY_BIN" --datadir "$d/data" --genesis "$g20" --autonitykeys "$d/keys/autonitykeys" \
    --port 31591 --consensus.port 21591 --networkid "$(jq .config.chainId "$g20")" \
    --nat extip:127.0.0.1 --syncmode full --http --http.addr 127.0.0.1 --http.port 18591 \
    --http.api aut,eth,net,web3,admin,tendermint > "$d/node.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 60); do [ "$(height http://127.0.0.1:18591)" -ge 0 ] && break; sleep 1; done
  js=$("$bin/dnsceremony" check --rpc http://127.0.0.1:18591 --genesis "$g20" --window 2s --json 2>"$d/check.err")
  rc=$?
  n=$(jq '.committee | length' <<<"$js" 2>/dev/null || echo 0)
  missing=$(jq -r '.missing | join(",")' <<<"$js" 2>/dev/null || echo "?")
  want=$(jq -r '.config.autonity.validators[].enode[8:136]' "$g20" | sort | paste -sd,)
  got=$(jq -r '.committee[]' <<<"$js" 2>/dev/null | sort | paste -sd,)
  say "check on the 20-validator node: exit $rc, committee $n, missing '${missing}' ($(cat "$d/check.err"))"
  if [ "$n" = 20 ] && [ -z "$missing" ] && [ "$got" = "$want" ]; then
    ok "v1: check read the committee of 20 from the real client"
  else
    bad "v1: check did not read the committee of 20 (exit $rc): $js"
    tail -n 5 "$d/node.log" >&2
  fi
  kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; node_pid=""
fi

if [ -n "${AUTONITY_V07_BIN:-}" ]; then
  say "profile v0.7 with $AUTONITY_V07_BIN ($("$AUTONITY_V07_BIN" version 2>/dev/null | grep -m1 '^Version'))"
  if demo "$AUTONITY_V07_BIN" v0.7; then
    ok "v0.7: four organisations reached Phase 4 with the real client"
  else
    bad "v0.7: the ceremony did not reach Phase 4 with the real client"
  fi
  stop_demo
fi
echo "real-client: $passed passed, $failed failed"
[ "$failed" = 0 ]
