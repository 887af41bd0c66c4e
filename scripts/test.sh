#!/usr/bin/env bash
# The full test suite: installs what it needs, then lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# --docker: a Docker daemon (started where none answers) for the chart's pod test and the testnet.
bash scripts/install-deps.sh --docker
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
# The HTML audit report in headless Chromium at 1280 and 1400 px: nothing wider than the page.
bash scripts/check-html-report.sh
# The fuzz targets, each run for a bounded time from its committed corpus (nightly Rust).
bash scripts/fuzz.sh
bash scripts/test-chart.sh
# The docker-compose testnet: scenarios 0 (DNS), 1 (happy path) and 4 (broken zone).
bash testnet/scenarios/ci
# The ceremony with the real Autonity client: runs only when AUTONITY_BIN / AUTONITY_V07_BIN name
# real clients built from source (README, "The real client"); otherwise it says it skipped.
bash scripts/test-real-client.sh
