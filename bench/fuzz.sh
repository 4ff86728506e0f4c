#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time and prints iterations and crashes.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashes are kept
# in fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/ (both git-ignored).
set -euo pipefail
secs="${1:-60}"
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
targets=$(cargo +nightly fuzz list)
# FUZZ_BUILD_SECS bounds the sanitizer build (CI sets it; 0 or unset: no bound). A build that
# does not finish in time skips the run with a message instead of failing.
build_status=0
timeout "${FUZZ_BUILD_SECS:-0}" cargo +nightly fuzz build >/dev/null || build_status=$?
if [ "$build_status" -eq 124 ]; then
  echo "fuzz: skipped (the fuzz build took longer than ${FUZZ_BUILD_SECS} s)"
  exit 0
elif [ "$build_status" -ne 0 ]; then
  echo "fuzz: the fuzz build failed" >&2
  exit "$build_status"
fi
printf '%-20s %12s %8s\n' target iterations crashes
total_crashes=0
for t in $targets; do
  mkdir -p "corpus/$t" "artifacts/$t"
  log="$(mktemp)"
  status=0
  cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
  runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1 || true)
  [ -z "$runs" ] && runs=$(grep -oE '^#[0-9]+' "$log" | tr -d '#' | tail -1 || true)
  crashes=$(find "artifacts/$t" -type f | wc -l)
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes="run failed (see $log)"; fi
  printf '%-20s %12s %8s\n' "$t" "${runs:-?}" "$crashes"
  [ "$crashes" != "0" ] && total_crashes=$((total_crashes + 1))
done
exit $(( total_crashes > 0 ))
