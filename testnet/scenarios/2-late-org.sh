#!/usr/bin/env bash
# Scenario 2: org4 starts a minute late: the others wait (org4 pending, no network started), then
# all four finish with one genesis.
. "$(dirname "$0")/lib.sh"
fresh
late="${LATE:-60}"
up_quiet --no-wait --hold org4 || exit 1
note "org1-3 started; org4 starts in ${late}s"
check "org1 sees org2 and org3 secure" until_ok 120 'is_status org1 org2 secure && is_status org1 org3 secure'
check "org1 sees org4 pending" is_status org1 org4 pending
sleep "$late"
check "after ${late}s org1-3 still wait (no genesis, no client)" none_started org1 org2 org3
for o in org1 org2 org3; do check "$o is still running" running "${ORG_SERVICE[$o]}"; done
"$TESTNET/start" org4
check "all four pass Phase 4 after org4 joined" until_ok "${TIMEOUT:-300}" all_phase4
check "one genesis hash for all four" same_genesis
