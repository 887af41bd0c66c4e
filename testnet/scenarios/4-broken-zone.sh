#!/usr/bin/env bash
# Scenario 4: ogr3.io is broken on purpose (io publishes a DS for a key ogr3.io does not use): the
# others refuse org3 as bogus, naming the zone and the reason, and start no network without it.
. "$(dirname "$0")/lib.sh"
fresh
up_quiet --no-wait --fault wrong-ds=ogr3.io || exit 1
check "BIND's delv also finds ogr3.io bogus (oracle)" "! qdelv ogr3.io SOA 2>&1 | grep -q 'fully validated'"
for o in org1 org2 org4; do
  svc="${ORG_SERVICE[$o]}"
  check "$o's validator refuses and stops" until_ok 120 "! running $svc"
  check "$o: run exits with status 2 (security)" '[ "$(exit_code '"$svc"')" = 2 ]'
  line=$("$TESTNET/logs" "$o" 2>&1 | grep 'dnsceremony:' | tail -n1 | sed 's/^[^|]*| //'); note "$o said: $line"
  check "$o's error names org3 as bogus, the zone ogr3.io and the DS" \
    'grep -q "org3 (bogus" <<<"$line" && grep -q ogr3.io <<<"$line" && grep -q DS <<<"$line"'
  r=$(reason_seen "$o" org3); note "$o's verify reason for org3: $r"
  check "$o's verify: org3 bogus, the reason names ogr3.io and the DS" \
    'is_status '"$o"' org3 bogus && grep -q ogr3.io <<<"$r" && grep -q DS <<<"$r"'
  for p in org1 org2 org4; do check "$o's verify: $p secure" is_status "$o" "$p" secure; done
done
check "no organisation built a genesis or started a client" none_started "${ORGS[@]}"
