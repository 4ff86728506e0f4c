#!/usr/bin/env bash
# Two builds of switchboard against each other on one scenario, in interleaved short slices:
#
#   bench/ab.sh BINARY_A BINARY_B [scenario=s1] [rounds=15] [seconds=2] [connections=32]
#
# Each serves bench/routes against the stand-in, pinned to CPU 0, one at a time: every slice
# starts its side afresh on the same port (1 s of warm-up, then the measured seconds); prints
# the median of the per-round ratios A/B of requests per second. Used to
# decide whether a hand-written piece beats its library version (src/server/middleware.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
A=$1 B=$2 S=${3:-s1} ROUNDS=${4:-15} SECS=${5:-2} CONNS=${6:-32}
cargo build --release --manifest-path bench/minimal/Cargo.toml --target-dir target/minimal >&2
STANDIN=127.0.0.1:18065
STANDIN_PID=
SERVER=
trap 'for p in $SERVER $STANDIN_PID; do kill "$p" 2>/dev/null || true; done' EXIT
trap 'exit 130' INT TERM
taskset -c 1 target/minimal/release/standin "$STANDIN" &
STANDIN_PID=$!
KEYS="bench:$(head -c 32 /dev/urandom | base64)"
PORT=18110
LOG=$(mktemp)
# Each slice starts its side afresh on the same port: two servers left running side by side
# measured the same binary at up to 1.19× itself, depending on which was started first.
start() { # binary
    ( switchboard_env "127.0.0.1:$PORT" "$KEYS"; exec taskset -c 0 "$1" serve >/dev/null 2>"$LOG" ) &
    SERVER=$!
    for _ in $(seq 200); do
        curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$SERVER" 2>/dev/null || break
        sleep 0.05
    done
    echo "$1 did not become ready; its log ends:" >&2
    tail -5 "$LOG" >&2
    exit 1
}
LUA=$(mktemp)
cat >"$LUA" <<LUA
wrk.method = "POST"
wrk.path = "/commands/$S"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "$(form "$S" 'ship%20it')"
LUA
rps() { # binary → $FIGURE, its requests per second
    start "$1"
    taskset -c 1 wrk -t1 -c"$CONNS" -d1s -s "$LUA" "http://127.0.0.1:$PORT" >/dev/null # warm-up
    FIGURE=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$LUA" "http://127.0.0.1:$PORT" | awk '/Requests\/sec/ {print $2}')
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=
    [ -n "$FIGURE" ] || { echo "no figure from wrk against $1" >&2; exit 1; }
}
ratios=()
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then rps "$A"; a=$FIGURE; rps "$B"; b=$FIGURE; else rps "$B"; b=$FIGURE; rps "$A"; a=$FIGURE; fi
    ratios+=("$(python3 -c "print($a / $b)")")
done
python3 -c "
import statistics, sys
r = [float(x) for x in sys.argv[1:]]
print(f'$S A/B median {statistics.median(r):.3f} over {len(r)} rounds (min {min(r):.2f}, max {max(r):.2f})')" "${ratios[@]}"
