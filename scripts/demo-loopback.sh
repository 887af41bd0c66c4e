#!/usr/bin/env bash
# The main job without Docker: the four-organisation ceremony of the testnet on loopback
# addresses with real BIND servers. Builds a private DNSSEC hierarchy (root, com, net, io, uk,
# co.uk and the four organisation zones, signed by BIND, open to TSIG-signed updates) with the
# lab (`cargo run --example lab`), runs one `dnsceremony run` per organisation with a client
# (the `autonity-standin` by default, or the real Autonity client), waits until `dnsceremony
# check` is green for all four, prints a summary per organisation, and stops everything it
# started on exit.
#
# Usage: scripts/demo-loopback.sh [--autonity PATH] [--profile v1|v0.7] [--timeout SECS] [--keep]
#   --autonity PATH  the client program (default: the stand-in). A real client built from source:
#                    0.14.x for profile v1, v0.7.1 for profile v0.7 (README, "The real client")
#   --profile P      the manifest's genesis profile (default v1)
#   --timeout SECS   how long to wait for all four to pass Phase 4 (default 300)
#   --keep           stay up after the summary until Ctrl-C (the servers and nodes keep running)
# Needs root (named binds port 53 on 127.x addresses). Exit status 0 when all four passed.
# With --keep, the line "demo: work directory DIR" names where each organisation's files are
# (DIR/orgN: ceremony.json, genesis.json, node/, client.json with the client's pid).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
timeout=300 keep=0 client="" profile=v1
while [ $# -gt 0 ]; do
  case "$1" in
    --autonity) client="${2-}"; shift $(( $# > 1 ? 2 : 1 )) ;;
    --profile) profile="${2-}"; shift $(( $# > 1 ? 2 : 1 )) ;;
    --timeout) timeout="${2-}"; shift $(( $# > 1 ? 2 : 1 )) ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "demo-loopback: unknown argument: $1" >&2; exit 3 ;;
  esac
done
[[ $timeout =~ ^[0-9]+$ ]] || { echo "demo-loopback: --timeout: not a number of seconds: '$timeout'" >&2; exit 3; }
case "$profile" in v1|v0.7) ;; *) echo "demo-loopback: --profile: must be v1 or v0.7, not '$profile'" >&2; exit 3 ;; esac
if [ -n "$client" ]; then
  case "$client" in /*) ;; */*) client="$PWD/$client" ;; esac
  [ -f "$client" ] && [ -x "$client" ] || command -v "$client" >/dev/null 2>&1 ||
    { echo "demo-loopback: --autonity: not an executable file: '$client'" >&2; exit 3; }
fi
say() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root: the BIND servers listen on port 53 of loopback addresses"
command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
bash "$repo/scripts/install-deps.sh"

t0=$(date +%s)
say "building dnsceremony, autonity-standin and the lab (cargo build --release)"
(cd "$repo" && cargo build --release --quiet --bin dnsceremony --bin autonity-standin --example lab)
bin="${CARGO_TARGET_DIR:-$repo/target}/release"
export PATH="$bin:$PATH"
client="${client:-autonity-standin}"
say "client: $client ($("$client" version 2>/dev/null | grep -m1 -i '^version' || "$client" --version 2>/dev/null | head -n1 || true)); profile $profile"

work=$(mktemp -d /tmp/dnsceremony-demo.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  exec 3>&- 2>/dev/null || true   # the lab stops its servers when its stdin closes
  [ -n "${lab_pid:-}" ] && { wait "$lab_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

orgs=(org1 org2 org3 org4)
declare -A host=([org1]=validator1.ogr1.com [org2]=val2.ogr2.net [org3]=validator3.ogr3.io [org4]=othername4.ogr4.co.uk)
t_build=$(date +%s)
say "starting the loopback DNSSEC hierarchy (root, com, net, io, uk, co.uk, four organisation zones)"
exec 3> >("$bin/examples/lab" --dir "$work/lab" --until-eof \
  --orgs "$(IFS=,; echo "${host[*]}")" > "$work/lab.out" 2> "$work/lab.err")
lab_pid=$!
for _ in $(seq 120); do grep -q '^ready' "$work/lab.out" 2>/dev/null && break; sleep 0.5; done
grep -q '^ready' "$work/lab.out" || { cat "$work/lab.err" >&2; die "the lab did not come up"; }
root=$(awk -F'\t' '$1 == "root" {print $2}' "$work/lab.out")
anchor=$(awk -F'\t' '$1 == "anchor" {print $2}' "$work/lab.out")
declare -A server tsig
for o in "${orgs[@]}"; do
  server[$o]=$(awk -F'\t' -v h="${host[$o]}" '$1 == "org" && $2 == h {print $4}' "$work/lab.out")
  tsig[$o]=$(awk -F'\t' -v h="${host[$o]}" '$1 == "org" && $2 == h {print $5}' "$work/lab.out")
  [ -n "${server[$o]}" ] || die "the lab did not report a server for ${host[$o]}"
done
say "root server $root; organisation servers: $(for o in "${orgs[@]}"; do printf '%s ' "${server[$o]}"; done)"

manifest="$work/manifest.toml"
sed -e "/^\[timing\]/,\$d" -e "s/^profile = .*/profile = \"$profile\"/" \
  "$repo/zones/testnet/manifest.toml" > "$manifest"
cat >> "$manifest" <<TOML
[dns]
anchor = "$anchor"
roots = ["$root"]

[timing]
poll_interval = "1s"
deadline = "${timeout}s"
TOML

t_start=$(date +%s)
i=0
for o in "${orgs[@]}"; do
  i=$((i + 1))
  mkdir -p "$work/$o"
  dnsceremony run --manifest "$manifest" --org "$o" --keys "$work/$o/keys" --ip "127.0.0.1" \
    --port $((30302 + i)) --consensus-port $((20202 + i)) --rpc-port $((8544 + i)) \
    --server "${server[$o]}" --tsig "${tsig[$o]}" --autonity "$client" \
    --datadir "$work/$o" > "$work/$o/run.log" 2>&1 &
  pids+=($!)
done
say "started four 'dnsceremony run' (logs in $work/ORG/run.log); waiting up to ${timeout}s for Phase 4"

check_json() { # org index
  dnsceremony check --rpc "http://127.0.0.1:$((8544 + $2))" --keys "$work/$1/keys" \
    --genesis "$work/$1/genesis.json" --window 5s --json 2>/dev/null
}
all_ok() {
  local o i=0
  for o in "${orgs[@]}"; do
    i=$((i + 1))
    [ -f "$work/$o/genesis.json" ] || return 1
    check_json "$o" "$i" >/dev/null || return 1
  done
}
ok=0
deadline=$(( t_start + timeout ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if all_ok; then ok=1; break; fi
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ "$alive" = 1 ] || { say "every 'dnsceremony run' has exited"; break; }
  sleep 2
done
t_end=$(date +%s)

printf '%-5s %-22s %-10s %-12s %-14s %-8s %s\n' ORG HOST STATUS PHASE GENESIS HEIGHT COMMITTEE
i=0
for o in "${orgs[@]}"; do
  i=$((i + 1))
  p="${pids[$((i - 1))]}"
  if kill -0 "$p" 2>/dev/null; then st=running; else wait "$p" && rc=0 || rc=$?; st="exited($rc)"; fi
  phase=$(jq -r '.phase // "-"' "$work/$o/ceremony.json" 2>/dev/null || echo -)
  gen=$(jq -r '.genesis_hash // "-"' "$work/$o/ceremony.json" 2>/dev/null || echo -)
  height=- committee=-
  if [ -f "$work/$o/genesis.json" ] && js=$(check_json "$o" "$i"); [ -n "${js:-}" ]; then
    height=$(jq -r '.block_end' <<<"$js")
    committee=$(jq -r '(if .ok then "ok" else "ALARM" end) + " (\(.committee | length) members"
      + (if (.missing | length) > 0 then "; missing: \(.missing | join(","))" else "" end) + ")"' <<<"$js")
  fi
  printf '%-5s %-22s %-10s %-12s %-14s %-8s %s\n' "$o" "${host[$o]}" "$st" "$phase" "${gen:0:14}" "$height" "$committee"
  js=""
done
say "build $((t_build - t0)) s; hierarchy up $((t_start - t_build)) s; runs started to Phase 4: $((t_end - t_start)) s"
if [ "$ok" != 1 ]; then
  for o in "${orgs[@]}"; do
    say "--- last lines of $o's run log"; tail -n 5 "$work/$o/run.log" >&2
    [ -f "$work/$o/node.log" ] && { say "--- last lines of $o's client log"; tail -n 5 "$work/$o/node.log" >&2; }
  done
  say "not all four organisations passed Phase 4"
  exit 1
fi
say "all four organisations passed Phase 4: one genesis, blocks advancing, committee of four"
if [ "$keep" = 1 ]; then
  say "work directory $work"
  say "staying up (Ctrl-C stops everything)"
  # In the background, so that SIGTERM/SIGINT run the trap at once (bash waits for a
  # foreground command before running a trap).
  sleep infinity & pids+=($!)
  wait "$!"
fi
