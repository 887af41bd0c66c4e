#!/usr/bin/env bash
# Build every fuzz target of fuzz/ and run each for a bounded time from its committed corpus
# (fuzz/corpus/<target>); any crash, panic, failed assertion or hang fails the script.
# Needs the nightly toolchain (libFuzzer's instrumentation) and cargo-fuzz, installed when missing.
# Without a nightly toolchain it says SKIPPED with the reason and exits 0.
# Usage: scripts/fuzz.sh [TARGET...]   (default: every target)
# Environment: FUZZ_SECONDS   time per target (default 30)
#              FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 20)
# The committed corpus is only read; inputs found during the run go to a temporary directory.
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run -O -a <target> fuzz/artifacts/<target>/<file>
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${FUZZ_SECONDS:-30}"
timeout="${FUZZ_TIMEOUT:-20}"
say() { printf 'fuzz: %s\n' "$*" >&2; }

if ! command -v rustup >/dev/null 2>&1 || ! rustup run nightly rustc --version >/dev/null 2>&1; then
  say "SKIPPED: no nightly Rust toolchain (libFuzzer needs it; install with 'rustup toolchain install nightly')"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz"
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || { say "error: cannot install cargo-fuzz"; exit 1; }
fi
cd "$repo" || exit 1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
say "building ${#targets[@]} targets: ${targets[*]}"
cargo +nightly fuzz build -O -a || { say "FAILED: the fuzz targets do not build"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${targets[@]}"; do
  seeds="fuzz/corpus/$t"
  [ -d "$seeds" ] || { say "FAILED: $t has no committed corpus ($seeds)"; failed+=("$t"); continue; }
  mkdir -p "$work/$t"
  say "running $t for ${seconds}s from $(find "$seeds" -type f | wc -l) seeds"
  if cargo +nightly fuzz run -O -a "$t" "$work/$t" "$seeds" -- \
      -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
      >"$work/$t.log" 2>&1; then
    say "ok: $t ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$') runs)"
  else
    tail -n 40 "$work/$t.log" >&2
    say "FAILED: $t (input saved under fuzz/artifacts/$t/)"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "all ${#targets[@]} targets ran ${seconds}s each without a failure"
