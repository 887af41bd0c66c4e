#!/usr/bin/env bash
# Scenario 6 (not in CI): the testnet with a client image (AUTONITY_IMAGE). Without the real client
# image here, the stand-in is packaged as one (dnsceremony-fake-autonity:<hash>: the node image with
# `autonity -> autonity-standin` on PATH and as entrypoint, dnsceremony removed), and
# `AUTONITY_IMAGE=<that tag> testnet/up` must bring all four organisations to Phase 4: each
# validator stops at the genesis agreement, each client container starts from client.args and
# the validator's `check` is green against it.
. "$(dirname "$0")/lib.sh"
fresh
node=$("$TESTNET/images/build" | tail -n1)
tag="dnsceremony-fake-autonity:$(docker image inspect -f '{{.Id}}' "$node" | sed 's/^sha256://' | cut -c1-12)"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
  note "building $tag over $node"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "NODE=$node" -t "$tag" "$TESTNET/images/fake-autonity" >/dev/null
fi
check "the client image has autonity and no dnsceremony" \
  "docker run --rm --entrypoint /bin/sh $tag -c 'command -v autonity && ! command -v dnsceremony' >/dev/null"
# Does the client container run `autonity` with exactly the arguments in the validator's client.args?
runs_client_args() {
  local want
  want="autonity $(paste -sd' ' "$TESTNET_STATE/validators/$1/data/client.args")"
  grep -q -- '--autonitykeys /data/keys/autonitykeys' <<<"$want" || return 1
  docker top "$(cid "${ORG_CLIENT_SERVICE[$1]}")" -o pid,args | sed 's/^ *[0-9]* *//' | grep -qxF -- "$want"
}
t0=$(date +%s)
AUTONITY_IMAGE="$tag" SKIP_CARGO=1 "$TESTNET/up" --timeout "${TIMEOUT:-300}"; rc=$?
note "up exited $rc after $(( $(date +%s) - t0 )) s"
export AUTONITY_IMAGE="$tag"
check "up: all four validators passed Phase 4 with the client image" [ "$rc" = 0 ]
check "one genesis hash for all four" same_genesis
check "blocks advance at every validator" blocks_advance
for org in "${ORGS[@]}"; do
  c="${ORG_CLIENT_SERVICE[$org]}"
  check "$org: its client runs in $c from $tag" \
    "running $c && [ \"\$(docker inspect -f '{{.Config.Image}}' \"\$(cid $c)\")\" = $tag ]"
  check "$org: the ceremony stopped at the agreement (run --until genesis), no client in the validator" \
    "[ \"\$(jq -r .phase $TESTNET_STATE/validators/$org/data/ceremony.json)\" = agreed ] && ! in_svc ${ORG_SERVICE[$org]} pgrep -f autonity-standin >/dev/null"
  check "$org: the client runs autonity with exactly client.args (v1: --autonitykeys ...)" runs_client_args "$org"
  check "$org: check is green" "check_json $org >/dev/null"
  check "$org: the committee is exactly the four organisations' enode keys" committee_is_all_four "$org"
done
