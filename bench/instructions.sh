#!/usr/bin/env bash
# Instructions per request, Switchboard against the minimal program, under callgrind: a
# deterministic figure that does not depend on what else the machine runs (wrk's ratios do).
#
#   bench/instructions.sh [requests=2000] [scenarios="s1 s2 s3"]
#
# Both servers run under `valgrind --tool=callgrind` against the stand-in, set up as
# bench/run.sh does (default config, access line on). Per scenario: 200 warm-up requests,
# counters zeroed, REQUESTS requests over 4 keep-alive connections (bench/send.py), counters
# dumped; prints instructions per request of each side and their ratio (minimal / Switchboard,
# comparable with run.sh's throughput ratios), and where the dumps are for
# `callgrind_annotate --inclusive=yes FILE`. BENCH_SWITCHBOARD_BIN measures another build.
#
# BENCH_CACHE_SIM=1 also simulates the caches and branch predictors (slower) and prints, per
# request and side, L1 instruction misses, L1 data read and write misses and mispredicted
# branches: what instruction counts miss. On a virtual machine without hardware counters this
# is how to see why the same instructions take longer on one side (see `perf` in the README).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
N=${1:-2000}
SCENARIOS=${2:-"s1 s2 s3"}
SB_BIN=${BENCH_SWITCHBOARD_BIN:-target/release/switchboard}
[ -n "${BENCH_SWITCHBOARD_BIN:-}" ] || cargo build --release --bin switchboard >&2
cargo build --release --manifest-path bench/minimal/Cargo.toml --target-dir target/minimal >&2
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }

WORK=${BENCH_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
STANDIN=127.0.0.1:18265
SB=127.0.0.1:18200
MIN=127.0.0.1:18201
SIGNING_SECRET=$(head -c 32 /dev/urandom | base64)
KEYS="bench:$SIGNING_SECRET"
CG=(valgrind --tool=callgrind --dump-instr=no --compress-strings=no --compress-pos=no)
[ -z "${BENCH_CACHE_SIM:-}" ] || CG+=(--cache-sim=yes --branch-sim=yes)

target/minimal/release/standin "$STANDIN" &
PIDS+=($!)
( minimal_env "$KEYS"; exec "${CG[@]}" --callgrind-out-file="$WORK/minimal.out" target/minimal/release/minimal "$MIN" "http://$STANDIN" "$TOKEN" 2>"$WORK/minimal.vg" ) &
MIN_PID=$!
PIDS+=($MIN_PID)
( switchboard_env "$SB" "$KEYS"; exec "${CG[@]}" --callgrind-out-file="$WORK/switchboard.out" "$SB_BIN" serve 2>"$WORK/switchboard.log" ) &
SB_PID=$!
PIDS+=($SB_PID)
for _ in $(seq 600); do
    curl -fs "http://$SB/readyz" >/dev/null 2>&1 && curl -s "http://$MIN/" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "http://$SB/readyz" >/dev/null || { echo "switchboard not ready:" >&2; tail "$WORK/switchboard.log" >&2; exit 1; }

curl -fs -X POST -H "Content-Type: $FORM" --data "$(form s3 '')" "http://$SB/commands/s3" >/dev/null
# Dialog states are single-use: every submission gets its own (see bench/run.sh).
curl -fs "http://$STANDIN/_last_dialog" >"$WORK/dialog.json"

# Instructions counted between a zeroing and a dump of process $1 while $2… runs.
measure() { # pid name command...
    local pid=$1 name=$2 dump
    shift 2
    callgrind_control -z "$pid" >/dev/null
    "$@"
    callgrind_control -d "$name" "$pid" >/dev/null
    dump=$(ls -t "$WORK"/*.out.* | head -1)
    echo "$dump $(awk '/^(summary|totals):/ {print $2; exit}' "$dump")"
}

printf '%-8s %14s %14s %8s\n' scenario "switchboard" "minimal" "min/sb"
for s in $SCENARIOS; do
    case $s in
    s3) path=/dialogs/s3 ctype=application/json body=@$WORK/s3-states expect='{}' ;;
    *) path=/commands/$s ctype=$FORM body=$(form "$s" 'ship%20it') expect= ;;
    esac
    results=()
    for side in switchboard:$SB:$SB_PID minimal:$MIN:$MIN_PID; do
        IFS=: read -r name host port pid <<<"$side"
        if [ "$s" = s3 ]; then
            python3 bench/s3_states.py "$WORK/dialog.json" "$SIGNING_SECRET" 200 >"$WORK/s3-states"
        fi
        EXPECT=$expect python3 bench/send.py "$host:$port" "$path" "$ctype" "$body" 200
        if [ "$s" = s3 ]; then
            python3 bench/s3_states.py "$WORK/dialog.json" "$SIGNING_SECRET" "$N" >"$WORK/s3-states"
        fi
        read -r dump ir < <(EXPECT=$expect measure "$pid" "$s" python3 bench/send.py "$host:$port" "$path" "$ctype" "$body" "$N")
        results+=("$((ir / N))")
        echo "$name $s: $dump" >&2
    done
    printf '%-8s %14s %14s %8s\n' "$s" "${results[0]}" "${results[1]}" \
        "$(python3 -c "print(f'{${results[1]} / ${results[0]}:.3f}')")"
done
if [ -n "${BENCH_CACHE_SIM:-}" ]; then
    # Events per request from each dump's summary line (see the `events:` line for names).
    printf '%-22s %8s %8s %8s %8s %8s\n' "per request" I1mr D1mr D1mw Bcm Bim
    for dump in "$WORK"/*.out.*; do
        awk -v n="$N" -v name="$(basename "$dump")" '
            /^events:/ { for (i = 2; i <= NF; i++) col[$i] = i }
            /^summary:/ { printf "%-22s %8d %8d %8d %8d %8d\n", name, $col["I1mr"] / n, $col["D1mr"] / n, $col["D1mw"] / n, $col["Bcm"] / n, $col["Bim"] / n }
        ' "$dump"
    done
fi
echo "(bench/instructions.sh $N \"$SCENARIOS\": instructions per request; dumps in $WORK)"
