#!/usr/bin/env bash
# Scenario 5: org2's validator holds a TSIG key with the right name and a wrong secret: its publish
# fails with the TSIG error (exit 5), and ogr2.net does not change.
. "$(dirname "$0")/lib.sh"
fresh
up_quiet --no-wait --hold org2 --fault wrong-tsig=org2 || exit 1
before=$(serial_at org2); note "ogr2.net serial before: $before"
"$TESTNET/start" org2
check "org2's validator stops" until_ok 60 '! running validator2'
check "with exit status 5 (TSIG)" [ "$(exit_code validator2)" = 5 ]
log=$("$TESTNET/logs" org2 2>&1 | grep "dnsceremony:" | tail -n1 | sed "s/^[^|]*| //"); note "org2 said: $log"
check "the error names the TSIG key and the rejection (BADSIG)" 'grep -q TSIG <<<"$log" && grep -q org2-key <<<"$log" && grep -q BADSIG <<<"$log"'
check "ogr2.net serial unchanged" [ "$(serial_at org2)" = "$before" ]
check "no key_val2.ogr2.net record" [ -z "$(qdig +short "@${ADDR[ogr2]}" key_val2.ogr2.net TXT)" ]
check "org1 sees org2 pending" until_ok 60 is_status org1 org2 pending
