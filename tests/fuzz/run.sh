#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 60) each and reports what it found.
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz
# (cargo install cargo-fuzz). Crashing inputs land in tests/fuzz/artifacts/<target>/;
# each one found becomes a regression test in the main suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"form basic_auth resource_uri scope redirect_uri client_metadata jwt_jwk"}
cargo +nightly fuzz build --fuzz-dir tests/fuzz
status=0
for t in $targets; do
  echo "== $t ($seconds s)"
  if ! cargo +nightly fuzz run --fuzz-dir tests/fuzz "$t" -- \
      -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 \
      | grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)"; then
    status=1
  fi
done
exit $status
