# Helpers for the testnet scenarios (sourced). Each scenario owns the testnet: it tears down any
# existing one, starts its own, asserts, and tears it down at exit (KEEP=1 leaves it up to look at).
# shellcheck shell=bash
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib/common.sh"
SCENARIO="$(basename "$0" .sh)"
PASS=0 FAIL=0
note() { printf '[%s] %s\n' "$SCENARIO" "$*" >&2; }
ok() { PASS=$((PASS + 1)); printf '[%s] ok: %s\n' "$SCENARIO" "$*" >&2; }
bad() { FAIL=$((FAIL + 1)); printf '[%s] FAILED: %s\n' "$SCENARIO" "$*" >&2; }
# check WHAT CMD [ARGS...] | check WHAT 'shell code' (one argument: evaluated in this shell)
run_() { if [ $# = 1 ]; then eval "$1"; else "$@"; fi; }
check() { local what="$1"; shift; if run_ "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
  local rc=$?
  if [ "$FAIL" -gt 0 ] || [ "$rc" != 0 ]; then
    note "--- summary at failure"; summary >&2 || true
    for org in "${ORGS[@]}"; do note "--- last log lines of $org"; "$TESTNET/logs" "$org" --tail 8 >&2 2>/dev/null || true; done
    if [ -n "$(client_image)" ]; then
      for org in "${ORGS[@]}"; do
        note "--- last log lines of ${ORG_CLIENT_SERVICE[$org]} ($org's client)"
        "$TESTNET/logs" "${ORG_CLIENT_SERVICE[$org]}" --tail 8 >&2 2>/dev/null || true
      done
    fi
  fi
  [ "${KEEP:-0}" = 1 ] || "$TESTNET/down" >/dev/null 2>&1 || true
  printf '%s: %d passed, %d failed\n' "$SCENARIO" "$PASS" "$((FAIL + (rc != 0 && FAIL == 0 ? 1 : 0)))"
  [ "$FAIL" = 0 ] && [ "$rc" = 0 ]
}
trap finish EXIT
fresh() { "$TESTNET/down" >/dev/null 2>&1 || true; }
# testnet/up with its output kept aside; shown when it fails.
up_quiet() {
  local log; log=$(mktemp /tmp/dnsceremony-up.XXXXXX)
  if "$TESTNET/up" "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
  note "testnet/up $* failed:"; tail -n 25 "$log" >&2; rm -f "$log"; return 1
}
# Poll a command until it succeeds, at most SECS seconds.
until_ok() { local secs="$1" end; shift; end=$(( $(date +%s) + secs )); until run_ "$@"; do [ "$(date +%s)" -ge "$end" ] && return 1; sleep 2; done; }
# Status (secure, pending, bogus, ...) of organisation $2 as $1's validator sees it (verify --json).
# (verify exits non-zero while some organisation is not secure: the JSON is what counts.)
status_seen() { { verify_json "$1" || true; } | jq -r --arg o "$2" '.orgs[] | select(.name == $o) | .status' 2>/dev/null; }
reason_seen() { { verify_json "$1" || true; } | jq -r --arg o "$2" '.orgs[] | select(.name == $o) | .reason // ""' 2>/dev/null; }
is_status() { [ "$(status_seen "$1" "$2")" = "$3" ]; }
# Has an organisation built a genesis or started its client?
started_network() { [ -e "$TESTNET_STATE/validators/$1/data/genesis.json" ] || { running "${ORG_SERVICE[$1]}" && in_svc "${ORG_SERVICE[$1]}" pgrep -f "(^|/)autonity-standin( |$)" >/dev/null 2>&1; }; }
none_started() { local o; for o in "$@"; do started_network "$o" && return 1; done; return 0; }
same_genesis() {
  local first="" o h
  for o in "${ORGS[@]}"; do
    h=$(genesis_of "$o"); [ "$h" = - ] && return 1
    [ -z "$first" ] && first="$h"; [ "$h" = "$first" ] || return 1
  done
}
height_of() { check_json "$1" | jq -r '.block_end // empty' 2>/dev/null; }
# The committee a validator's node reports, as the four organisations' enode keys (sorted, one line).
committee_is_all_four() {
  local o c n v k
  c=$(check_json "$1" | jq -r '.committee | sort | join(",")') || return 1
  n=$(tr ',' '\n' <<<"$c" | grep -c .)
  [ "$n" = 4 ] || return 1
  v=$(verify_json "$1" || true)
  for o in "${ORGS[@]}"; do
    k=$(jq -r --arg o "$o" '.orgs[] | select(.name == $o) | .records.enode_key // empty' <<<"$v")
    [ -n "$k" ] && grep -q "$k" <<<"$c" || return 1
  done
}
blocks_advance() {
  local o a b
  for o in "${ORGS[@]}"; do a=$(height_of "$o"); [ -n "$a" ] || return 1; done
  sleep 4
  for o in "${ORGS[@]}"; do
    a=$(height_of "$o"); sleep 2; b=$(height_of "$o")
    [ -n "$a" ] && [ -n "$b" ] && [ "$((b))" -gt "$((a))" ] || return 1
  done
}
serial_at() { qdig +short "@${ADDR[${ORG_SERVER_DIR[$1]}]}" "${ORG_ZONE[$1]}" SOA | awk '{print $3}'; }
