#!/usr/bin/env bash
# Scenario 1: all four organisations run the ceremony: all finish, one genesis hash, blocks advance,
# the committee holds all four.
. "$(dirname "$0")/lib.sh"
fresh
t0=$(date +%s)
rc=0; "$TESTNET/up" --timeout "${TIMEOUT:-300}" || rc=$?
note "up exited $rc after $(( $(date +%s) - t0 )) s"
check "up: all four validators passed Phase 4" [ "$rc" = 0 ]
check "one genesis hash for all four" same_genesis
check "blocks advance at every validator" blocks_advance
for org in "${ORGS[@]}"; do
  check "$org: check is green (blocks advance, this node and the genesis validators in the committee)" "check_json $org >/dev/null"
  check "$org: the committee is exactly the four organisations' enode keys (as verify read them from DNS)" committee_is_all_four "$org"
  check "$org: verify sees all four secure" "[ \"\$(verify_json $org | jq -r '[.orgs[].status] | unique | join(\",\")')\" = secure ]"
done
