#!/usr/bin/env bash
# Profile-guided builds of Switchboard and of the minimal program, each trained on the bench's
# own three scenarios (one short round of bench/run.sh against the instrumented builds):
#
#   bench/pgo.sh
#   BENCH_SWITCHBOARD_BIN=target/pgo/switchboard BENCH_MINIMAL_BIN=target/pgo/minimal bench/run.sh
#
# Both sides get the same treatment, so their ratio stays a like-for-like comparison; run.sh
# without the variables measures the plain release builds. Needs the toolchain's
# llvm-profdata (`rustup component add llvm-tools`, done here when missing), and what
# bench/run.sh needs (wrk, python3, curl). Takes about 25 minutes on two cores (Switchboard's
# release build twice, with fat LTO).
#
#   bench/pgo.sh --switchboard
#
# builds only Switchboard that way (target/pgo/switchboard; the training's minimal side is the
# plain build): how deploy/Dockerfile builds the image's binary.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/target/pgo
BOTH=true
[ "${1:-}" != --switchboard ] || BOTH=false
profdata() {
    find "$(rustc --print sysroot)" -name llvm-profdata -type f 2>/dev/null | head -1
}
if [ -z "$(profdata)" ]; then
    rustup component add llvm-tools >&2
fi
PROFDATA=$(profdata)
[ -n "$PROFDATA" ] || { echo "llvm-profdata not found (rustup component add llvm-tools)" >&2; exit 1; }
mkdir -p "$OUT"

# deploy/Dockerfile builds the instrumented build's dependencies beforehand (a cached layer)
# with the same flags and target directory: keep the two in step.
build() { # rustflags target-dir cargo-args…
    local flags=$1 dir=$2
    shift 2
    RUSTFLAGS="$flags" cargo build --release --locked --target-dir "$dir" "$@" >&2
}
SB=(--bin switchboard)
MIN=(--manifest-path bench/minimal/Cargo.toml --bin minimal)

echo "1/4 instrumented builds" >&2
build "-Cprofile-generate=$OUT/data-sb" "$OUT/gen" "${SB[@]}"
! $BOTH || build "-Cprofile-generate=$OUT/data-min" "$OUT/gen-min" "${MIN[@]}"
# The build's own scripts and macros were instrumented too and wrote here: only the runs below
# make the profiles.
rm -rf "$OUT/data-sb" "$OUT/data-min"

echo "2/4 training: one round of bench/run.sh against the instrumented builds" >&2
MINIMAL=
! $BOTH || MINIMAL=$OUT/gen-min/release/minimal
BENCH_SWITCHBOARD_BIN=$OUT/gen/release/switchboard BENCH_MINIMAL_BIN=$MINIMAL \
    BENCH_S3_STATES_PER_SEC=50000 bench/run.sh 1 3 32 >"$OUT/training.txt"

echo "3/4 profiles" >&2
"$PROFDATA" merge -o "$OUT/switchboard.profdata" "$OUT/data-sb"
! $BOTH || "$PROFDATA" merge -o "$OUT/minimal.profdata" "$OUT/data-min"

echo "4/4 optimised builds" >&2
build "-Cprofile-use=$OUT/switchboard.profdata" "$OUT/use" "${SB[@]}"
cp "$OUT/use/release/switchboard" "$OUT/switchboard"
if $BOTH; then
    build "-Cprofile-use=$OUT/minimal.profdata" "$OUT/use-min" "${MIN[@]}"
    cp "$OUT/use-min/release/minimal" "$OUT/minimal"
    echo "$OUT/switchboard $OUT/minimal"
else
    echo "$OUT/switchboard"
fi
