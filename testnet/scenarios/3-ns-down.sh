#!/usr/bin/env bash
# Scenario 3: org3's name server stops mid-ceremony: the others report org3 pending and finish
# after it returns.
. "$(dirname "$0")/lib.sh"
fresh
up_quiet --no-wait --hold org1 || exit 1
note "org2-4 started; org1 held so the ceremony cannot finish yet"
check "org2 sees org3 secure" until_ok 120 is_status org2 org3 secure
dc stop -t 1 ns-ogr3 >/dev/null 2>&1
note "ns1.ogr3.io stopped"
check "org2 reports org3 pending while its server is down" until_ok 30 is_status org2 org3 pending
reason=$(reason_seen org2 org3); note "org2's reason for org3: $reason"
check "the reason names the silent server ${ADDR[ogr3]}" 'grep -q "${ADDR[ogr3]}" <<<"$reason"'
"$TESTNET/start" org1
sleep 20
check "nobody started a network while org3 is unreachable" none_started org1 org2 org3 org4
check "org1 reports org3 pending too" is_status org1 org3 pending
"$TESTNET/start" ns-ogr3
note "ns1.ogr3.io started again"
check "all four pass Phase 4 after org3's server returned" until_ok "${TIMEOUT:-300}" all_phase4
check "one genesis hash for all four" same_genesis
