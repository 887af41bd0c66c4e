#!/usr/bin/env bash
# Create the testnet's state under $TESTNET_STATE (default testnet/.state, git-ignored): DNSSEC keys
# for every zone, zone files and named.conf for every server (templates in zones/testnet/), DS records
# in the parents, the statically signed root and TLD zones, per-organisation TSIG keys, the root trust
# anchor and the manifest for every validator. Nothing here is committed; every run makes new keys.
#
# Usage: testnet/lib/state.sh [--fault wrong-ds=ZONE] [--fault wrong-tsig=ORG] ...
#   wrong-ds=ZONE   the parent publishes a DS for ZONE made from a key ZONE does not use
#   wrong-tsig=ORG  ORG's validator gets a TSIG key with the right name and another secret
#
# Signing, and why: the root, TLD and co.uk zones never change while the testnet runs, so they are
# signed once by dnssec-signzone (a chosen validity window, deterministic, easy to break on purpose).
# The organisation zones take RFC 2136 updates, so BIND signs them itself (dnssec-policy with
# inline-signing) with the KSK/ZSK made here, whose DS is already in the parent when BIND starts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
testnet="$(cd "$here/.." && pwd)"
repo="$(cd "$testnet/.." && pwd)"
tmpl="$repo/zones/testnet"
state="${TESTNET_STATE:-$testnet/.state}"
. "$here/topology.sh"

wrong_ds=() wrong_tsig=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fault)
      case "${2:-}" in
        wrong-ds=*) wrong_ds+=("${2#wrong-ds=}") ;;
        wrong-tsig=*) wrong_tsig+=("${2#wrong-tsig=}") ;;
        *) echo "state: unknown fault '${2:-}' (wrong-ds=ZONE, wrong-tsig=ORG)" >&2; exit 3 ;;
      esac
      shift 2 ;;
    *) echo "state: unknown argument: $1" >&2; exit 3 ;;
  esac
done
has() { local x="$1"; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }
# A fault that names no zone or organisation of the testnet would silently change nothing.
for z in "${wrong_ds[@]}"; do
  has "$z" "${ALL_ZONES[@]}" || { echo "state: --fault wrong-ds=$z: no such zone (zones: ${ALL_ZONES[*]})" >&2; exit 3; }
done
for o in "${wrong_tsig[@]}"; do
  has "$o" "${ORGS[@]}" || { echo "state: --fault wrong-tsig=$o: no such organisation (${ORGS[*]})" >&2; exit 3; }
done

if [ -e "$state/servers" ]; then
  echo "state: $state already exists (testnet/down removes it)" >&2
  exit 8
fi
mkdir -p "$state"
chmod 700 "$state"
keys="$state/keys"
mkdir -p "$keys"

fqdn() { [ "$1" = . ] && echo . || echo "$1."; }
zdir() { [ "$1" = . ] && echo root || echo "$1"; }

# KSK + ZSK (ECDSA P-256 SHA-256, algorithm 13) per zone, plus a spare KSK that no zone uses
# (the wrong-ds fault publishes its DS).
for z in "${ALL_ZONES[@]}"; do
  d="$keys/$(zdir "$z")"; mkdir -p "$d"
  dnssec-keygen -q -K "$d" -a 13 -f KSK "$(fqdn "$z")" > "$d/ksk"
  dnssec-keygen -q -K "$d" -a 13 "$(fqdn "$z")" > "$d/zsk"
  mkdir -p "$d/spare"
  dnssec-keygen -q -K "$d/spare" -a 13 -f KSK "$(fqdn "$z")" > "$d/spare/ksk"
done
ksk_file() { local d="$keys/$(zdir "$1")"; echo "$d/$(cat "$d/ksk")"; }
zsk_file() { local d="$keys/$(zdir "$1")"; echo "$d/$(cat "$d/zsk")"; }
ds_of() { # DS of zone $1 as its parent publishes it
  local z="$1" f
  if has "$z" "${wrong_ds[@]}"; then
    f="$keys/$(zdir "$z")/spare/$(cat "$keys/$(zdir "$z")/spare/ksk")"
  else
    f=$(ksk_file "$z")
  fi
  dnssec-dsfromkey -2 "$f.key"
}

zone_header() { # zone ns-name
  local z="$1" ns="$2" mail
  if [ "$z" = . ]; then mail="root-servers."; else mail="$z."; fi
  sed -e "s|@ZONE@|$(fqdn "$z")|g" -e "s|@ORIGIN@|\$ORIGIN $(fqdn "$z")|" \
      -e "s|@NSNAME@|$ns|g" -e "s|@SOAMAIL@|$mail|g" "$tmpl/zone.db.in"
}

# ---- organisation zones (dynamic, signed by BIND) ----
for org in "${ORGS[@]}"; do
  z="${ORG_ZONE[$org]}" host="${ORG_HOST[$org]}" srv="${ORG_SERVER_DIR[$org]}"
  d="$state/servers/$srv"; mkdir -p "$d/keys"
  cp "$tmpl/options.conf" "$d/"
  { zone_header "$z" "ns1.$z."; echo "ns1 IN A ${ADDR[$srv]}"; } > "$d/$z.db"
  cp "$(ksk_file "$z")".{key,private} "$(zsk_file "$z")".{key,private} "$d/keys/"
  keyname="$org-key"
  tsig-keygen -a hmac-sha256 "$keyname" > "$d/tsig.key"
  sed -e "s|@SERVER@|ns1.$z|g" -e "s|@ZONE@|$z|g" -e "s|@KEYNAME@|$keyname|g" -e "s|@HOST@|$host|g" \
      "$tmpl/org.named.conf.in" > "$d/named.conf"
  v="$state/validators/$org"; mkdir -p "$v/etc" "$v/data"
  if has "$org" "${wrong_tsig[@]}"; then
    tsig-keygen -a hmac-sha256 "$keyname" > "$v/etc/tsig.key"
  else
    cp "$d/tsig.key" "$v/etc/tsig.key"
  fi
  chmod 600 "$v/etc/tsig.key" "$d/tsig.key"
done

# ---- static parents, bottom-up: co.uk, then the TLDs, then the root ----
sign_static() { # zone dir-of-server
  local z="$1" d="$2" out
  out="$d/$(zdir "$z").db"
  {
    echo "\$INCLUDE $(ksk_file "$z").key"
    echo "\$INCLUDE $(zsk_file "$z").key"
  } >> "$out.unsigned"
  dnssec-signzone -q -d "$d" -o "$(fqdn "$z")" -e +2592000 -k "$(ksk_file "$z")" -f "$out.signed" \
    "$out.unsigned" "$(zsk_file "$z")" > /dev/null
  mv "$out.signed" "$out"
  rm -f "$out.unsigned" "$d"/dsset-*
}
delegate() { # child ns-name ns-addr (appends to the parent's unsigned file on stdout)
  local child="$1" ns="$2" addr="$3"
  echo "$child. IN NS $ns"
  [ -n "$addr" ] && echo "$ns IN A $addr"
  ds_of "$child"
}

# uk server: uk and co.uk. co.uk's name server is ns.uk. (glue in uk).
d="$state/servers/uk"; mkdir -p "$d"; cp "$tmpl/options.conf" "$d/"
{ zone_header co.uk "ns.uk."; delegate ogr4.co.uk ns1.ogr4.co.uk. "${ADDR[ogr4]}"; } > "$d/co.uk.db.unsigned"
sign_static co.uk "$d"
{ zone_header uk "ns.uk."; echo "ns IN A ${ADDR[uk]}"; delegate co.uk ns.uk. ""; } > "$d/uk.db.unsigned"
sign_static uk "$d"
for tld in com net io; do
  d="$state/servers/$tld"; mkdir -p "$d"; cp "$tmpl/options.conf" "$d/"
  {
    zone_header "$tld" "ns.$tld."
    echo "ns IN A ${ADDR[$tld]}"
    for org in "${ORGS[@]}"; do
      z="${ORG_ZONE[$org]}"
      [ "${z#*.}" = "$tld" ] && delegate "$z" "ns1.$z." "${ADDR[${ORG_SERVER_DIR[$org]}]}"
    done
  } > "$d/$tld.db.unsigned"
  sign_static "$tld" "$d"
done
d="$state/servers/root"; mkdir -p "$d"; cp "$tmpl/options.conf" "$d/"
{
  zone_header . "a.root-servers."
  echo "a.root-servers. IN A ${ADDR[root]}"
  for tld in com net io uk; do delegate "$tld" "ns.$tld." "${ADDR[$tld]}"; done
} > "$d/root.db.unsigned"
sign_static . "$d"

zone_line() { echo "zone \"$1\" { type primary; file \"/srv/named/$2.db\"; };"; }
for srv in root com net io uk; do
  case "$srv" in
    root) zones=$(zone_line . root) ;;
    uk) zones="$(zone_line uk uk)"$'\n'"$(zone_line co.uk co.uk)" ;;
    *) zones=$(zone_line "$srv" "$srv") ;;
  esac
  awk -v zones="$zones" -v server="$srv" '{ gsub(/@SERVER@/, server); if ($0 == "@ZONES@") print zones; else print }' \
    "$tmpl/parent.named.conf.in" > "$state/servers/$srv/named.conf"
done

# ---- trust anchor and manifest for the validators ----
grep -v '^;' "$(ksk_file .).key" > "$state/root.key"
dnssec-dsfromkey -2 "$(ksk_file .).key" > "$state/root.ds"
awk '{ printf "trust-anchors {\n  . static-key %s %s %s \"", $4, $5, $6; for (i = 7; i <= NF; i++) printf "%s", $i; print "\";\n};" }' \
  "$state/root.key" > "$state/root.anchor"
d="$state/servers/resolver"; mkdir -p "$d"
cp "$tmpl/resolver.named.conf.in" "$d/named.conf"
cp "$state/root.anchor" "$d/"
printf '. 3600000 IN NS a.root-servers.\na.root-servers. 3600000 IN A %s\n' "${ADDR[root]}" > "$d/root.hints"
for org in "${ORGS[@]}"; do
  cp "$state/root.key" "$state/root.anchor" "$tmpl/manifest.toml" "$state/validators/$org/etc/"
done
{
  echo "# testnet state, made $(date -u +%FT%TZ)"
  echo "faults: ${wrong_ds[*]/#/wrong-ds=} ${wrong_tsig[*]/#/wrong-tsig=}"
} > "$state/README"
echo "state: keys, zones and configuration in $state"
