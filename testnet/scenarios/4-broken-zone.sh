#!/usr/bin/env bash
# Scenario 4: ogr3.io is broken on purpose (io publishes a DS for a key ogr3.io does not use): the
# others refuse org3 as bogus, naming the zone and the reason, and start no network without it.
. "$(dirname "$0")/lib.sh"
fresh
"$TESTNET/up" --no-wait --fault wrong-ds=ogr3.io >/dev/null 2>&1 || exit 1
check "BIND's delv also finds ogr3.io bogus (oracle)" "! qdelv ogr3.io SOA 2>&1 | grep -q 'fully validated'"
for o in org1 org2 org4; do
  check "$o sees org3 bogus" until_ok 120 is_status "$o" org3 bogus
  r=$(reason_seen "$o" org3); note "$o's reason: $r"
  check "$o's reason names the zone ogr3.io and the DS" 'grep -q ogr3.io <<<"$r" && grep -qi DS <<<"$r"'
  for p in org1 org2 org4; do check "$o sees $p secure" is_status "$o" "$p" secure; done
done
sleep "${HOLD:-20}"
check "no organisation built a genesis or started a client" none_started "${ORGS[@]}"
