#!/usr/bin/env bash
# Scenario 6 (not in CI): the testnet with a client image. The image is built here from a client
# binary over the base image (testnet/images/build --client BIN: dnsceremony-autonity:<hash>, the
# binary as /usr/local/bin/autonity), BIN = $AUTONITY_BIN (a real client built from source), else
# the stand-in. `AUTONITY_IMAGE=<that tag> testnet/up` must bring all four organisations to
# Phase 4: each validator stops at the genesis agreement, each client container starts from
# client.args and the validator's `check` is green against it.
. "$(dirname "$0")/lib.sh"
fresh
bin="${AUTONITY_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/autonity-standin}"
if [ -z "${AUTONITY_BIN:-}" ] && [ "${SKIP_CARGO:-0}" != 1 ]; then
  (cd "$REPO" && cargo build --release --quiet --bin autonity-standin) || exit 1
fi
note "client binary: $bin"
tag=$("$TESTNET/images/build" --client "$bin" | tail -n1) || exit 1
check "the client image has autonity and no dnsceremony" \
  "docker run --rm --entrypoint /bin/sh $tag -c 'command -v autonity && ! command -v dnsceremony' >/dev/null"
check "the client image's autonity is the given binary" \
  "[ \"\$(docker run --rm --entrypoint /bin/sh $tag -c 'sha256sum < /usr/local/bin/autonity')\" = \"\$(sha256sum < $bin)\" ]"
# Does the client container run `autonity` with exactly the arguments in the validator's client.args?
runs_client_args() {
  local want
  want="autonity $(paste -sd' ' "$TESTNET_STATE/validators/$1/data/client.args")"
  grep -q -- '--autonitykeys /data/keys/autonitykeys' <<<"$want" || return 1
  docker top "$(cid "${ORG_CLIENT_SERVICE[$1]}")" -o pid,args | sed 's/^ *[0-9]* *//' | grep -qxF -- "$want"
}
t0=$(date +%s)
rc=0; AUTONITY_BIN= AUTONITY_IMAGE="$tag" SKIP_CARGO=1 "$TESTNET/up" --timeout "${TIMEOUT:-300}" || rc=$?
note "up exited $rc after $(( $(date +%s) - t0 )) s"
check "up: all four validators passed Phase 4 with the client image" [ "$rc" = 0 ]
check "the testnet remembers the client image" [ "$(client_image)" = "$tag" ]
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
