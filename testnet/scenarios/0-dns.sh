#!/usr/bin/env bash
# Scenario 0: the DNS of the testnet itself, checked with BIND's own tools only (no dnsceremony):
# every zone validates from the private root's anchor (delv), an organisation's TSIG key may change
# its own names and nothing else, and another organisation's key is rejected.
. "$(dirname "$0")/lib.sh"
fresh
up_quiet --no-wait --hold org1 --hold org2 --hold org3 --hold org4 || exit 1
note "testnet up (validators held)"
for q in ". SOA" "com DNSKEY" "ogr1.com SOA" "ogr2.net DNSKEY" "ogr3.io SOA" "co.uk DNSKEY" "ns1.ogr4.co.uk A"; do
  check "delv: $q fully validated" "qdelv $q 2>&1 | grep -q '^; fully validated'"
done
check "delv: a missing name has a validated denial" "qdelv nothere.ogr4.co.uk A 2>&1 | grep -q 'negative response, fully validated'"
# nsupdate from the resolver's container with org1's and org2's keys.
cp "$TESTNET_STATE/servers/ogr1/tsig.key" "$TESTNET_STATE/servers/resolver/org1.tsig"
cp "$TESTNET_STATE/servers/ogr2/tsig.key" "$TESTNET_STATE/servers/resolver/org2.tsig"
upd() { # org, update line for ogr1.com
  in_svc resolver bash -c "printf 'server ${ADDR[ogr1]}\nzone ogr1.com\n%s\nsend\n' '$2' | nsupdate -t 5 -k /srv/named/$1.tsig" 2>&1 || true
}
out=$(upd org1 'update add key_validator1.ogr1.com. 60 TXT "probe"'); check "org1's key adds key_validator1.ogr1.com TXT" '[ -z "$out" ]'
out=$(upd org1 'update add www.ogr1.com. 60 TXT "probe"'); check "org1's key may not add www.ogr1.com (REFUSED)" 'grep -q REFUSED <<<"$out"'
out=$(upd org2 'update add key_validator1.ogr1.com. 60 TXT "forged"'); check "org2's key is rejected by ogr1.com (BADKEY)" 'grep -q BADKEY <<<"$out"'
sleep 1
txt=$(qdelv key_validator1.ogr1.com TXT 2>&1)
check "the zone serves only org1's value, validated" 'grep -q "fully validated" <<<"$txt" && grep -q "\"probe\"" <<<"$txt" && ! grep -q forged <<<"$txt"'
