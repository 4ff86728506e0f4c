#!/usr/bin/env bash
# Switchboard against a minimal axum + reqwest program doing the same observable work.
#
#   bench/run.sh [--pgo] [rounds=5] [seconds per run=5] [connections=32]
#
# S1: slash command → templated ephemeral reply (bench/routes/s1.toml)
# S2: slash command → [post] into its own channel → confirmation (bench/routes/s2.toml)
# S3: dialog submission → validation → {} (bench/routes/s3.toml)
#
# Switchboard runs `serve` from the repository root with the shipped config.toml (default
# settings, the access log line on), pointed at bench/routes and at the stand-in Mattermost
# (bench/minimal/src/bin/standin.rs). The minimal program is bench/minimal/src/bin/minimal.rs.
# Each server is pinned to CPU 0, one at a time, started afresh for every run (a second of
# warm-up, then the measured seconds); wrk and the stand-in share CPU 1. Rounds interleave the
# two sides (the order flips every round); a scenario's ratio is the median of its per-round
# ratios of requests/s. Upstream calls per request come from the stand-in's own counter. RSS:
# each side's a second after it started, right after round 1's S1 run, and the largest at the
# end of any run.
# --pgo first builds both programs profile-guided (bench/pgo.sh, as the image's binary is
# built) and measures those; BENCH_SWITCHBOARD_BIN / BENCH_MINIMAL_BIN measure other builds,
# BENCH_SCENARIOS a subset (e.g. "s3").
# Needs: wrk (installed with apt-get when missing), python3, curl, taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
if [ "${1:-}" = --pgo ]; then
    # Both sides profile-guided (bench/pgo.sh, about 25 minutes), then measured like for like.
    shift
    bench/pgo.sh >&2
    export BENCH_SWITCHBOARD_BIN=target/pgo/switchboard BENCH_MINIMAL_BIN=target/pgo/minimal
fi
ROUNDS=${1:-5}
SECS=${2:-5}
CONNS=${3:-32}
SCENARIOS=${BENCH_SCENARIOS:-s1 s2 s3}   # e.g. BENCH_SCENARIOS=s3 for one scenario's rounds
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
# One CPU (a small container building the image, bench/pgo.sh): everything shares it.
[ "$(nproc)" -ge 2 ] || LOAD_CPU=${BENCH_LOAD_CPU:-$SERVER_CPU}

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null
fi

# BENCH_SWITCHBOARD_BIN, BENCH_MINIMAL_BIN: other builds to measure (e.g. bench/pgo.sh's).
SB_BIN=${BENCH_SWITCHBOARD_BIN:-target/release/switchboard}
MIN_BIN=${BENCH_MINIMAL_BIN:-target/minimal/release/minimal}   # empty: the plain build
[ -n "${BENCH_SWITCHBOARD_BIN:-}" ] || cargo build --release --bin switchboard
# Its own target directory: sharing target/ with Switchboard made each build rebuild the
# dependencies both use (their fingerprints differ), i.e. every run rebuilt everything.
cargo build --release --manifest-path bench/minimal/Cargo.toml --target-dir target/minimal

WORK=$(mktemp -d)
STANDIN_PID=
SERVER=
cleanup() {
    for pid in $SERVER $STANDIN_PID; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

STANDIN=127.0.0.1:18065
PORT=18100
ADDR=127.0.0.1:$PORT
# Switchboard's signing key, and the minimal program's; S3's states are signed with it too
# (bench/s3_states.py).
SIGNING_SECRET=$(head -c 32 /dev/urandom | base64)
KEYS="bench:$SIGNING_SECRET"

taskset -c "$LOAD_CPU" target/minimal/release/standin "$STANDIN" &
STANDIN_PID=$!

# One server at a time on CPU 0, started afresh for every measured run on the same port: two
# servers left side by side on one core measured the same build at up to 1.19× itself,
# depending on which was started first (bench/ab.sh found it), which is a bias between sides.
start() { # side → $SERVER; the server is answering when it returns
    if [ "$1" = switchboard ]; then
        ( switchboard_env "$ADDR" "$KEYS"; exec taskset -c "$SERVER_CPU" "$SB_BIN" serve 2>>"$WORK/switchboard.log" ) &
        SERVER=$!
        ready=/readyz
    else
        ( minimal_env "$KEYS"; exec taskset -c "$SERVER_CPU" "$MIN_BIN" "$ADDR" "http://$STANDIN" "$TOKEN" ) &
        SERVER=$!
        ready=/
    fi
    for _ in $(seq 200); do
        # The minimal program answers 404 on `/`: any HTTP answer means it listens.
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR$ready")" != 000 ] && return 0
        kill -0 "$SERVER" 2>/dev/null || break
        sleep 0.05
    done
    echo "$1 did not start (switchboard: $SB_BIN); switchboard's log ends:" >&2
    tail "$WORK/switchboard.log" >&2
    exit 1
}
stop() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }

script() { # name path content-type body
    python3 - "$WORK/$1.lua" "$2" "$3" "$4" <<'EOF'
import json, sys
out, path, ctype, body = sys.argv[1:]
open(out, "w").write(
    f'wrk.method = "POST"\nwrk.path = {json.dumps(path)}\n'
    f'wrk.headers["Content-Type"] = {json.dumps(ctype)}\nwrk.body = {json.dumps(body)}\n')
EOF
}
script s1 /commands/s1 $FORM "$(form s1 'ship%20it')"
script s2 /commands/s2 $FORM "$(form s2 'ship%20it')"

# S3's signed states. A dialog state is single-use (a replay is refused, issue #13), so every
# submission needs its own: open the dialog once through Switchboard, take its state from the
# stand-in, and re-sign it with fresh nonces (bench/s3_states.py), more than a run can send.
S3_PER_SEC=${BENCH_S3_STATES_PER_SEC:-100000}
s3_states() { # count file
    python3 bench/s3_states.py "$WORK/dialog.json" "$SIGNING_SECRET" "$1" >"$2"
}
answer() { # path ctype body → "body status"
    curl -s -X POST -H "Content-Type: $2" --data "$3" -w ' %{http_code}' "http://$ADDR$1"
}
# Each side's answers to the same requests, and its RSS a second after it started.
start switchboard
answer /commands/s3 $FORM "$(form s3 '')" >/dev/null
curl -fs "http://$STANDIN/_last_dialog" >"$WORK/dialog.json"
s3_states 3 "$WORK/s3-check"
S3_BODY=$(sed -n 1p "$WORK/s3-check")
S3_INVALID=$(sed -n 2p "$WORK/s3-check" | sed 's/v1\.2\.3/v/')
S3_OTHER_USER=$(sed -n 3p "$WORK/s3-check" | sed 's/benchuserid/otheruserid/')
sleep 1
SB_RSS_IDLE=$(rss)
for side in switchboard minimal; do
    [ "$side" = switchboard ] || { start minimal; sleep 1; MIN_RSS_IDLE=$(rss); }
    {
        answer /commands/s1 $FORM "$(form s1 'ship%20it')"; echo
        answer /commands/s2 $FORM "$(form s2 'ship%20it')"; echo
        answer /dialogs/s3 application/json "$S3_BODY"; echo
        answer /dialogs/s3 application/json "$S3_INVALID"; echo
        answer /dialogs/s3 application/json "$S3_BODY"; echo   # a replay: refused
        answer /dialogs/s3 application/json "$S3_OTHER_USER"; echo   # not the user's: 403
    } >"$WORK/answers-$side"
    stop
done
# Same observable answers on both sides (s1, s2, s3 valid, invalid, replayed, another user's).
paste -d '\n' <(sed 's/^/switchboard: /' "$WORK/answers-switchboard") <(sed 's/^/minimal:     /' "$WORK/answers-minimal") >&2
cmp -s "$WORK/answers-switchboard" "$WORK/answers-minimal" || echo "warning: the two sides answer differently (above)" >&2

calls() { curl -fs "http://$STANDIN/_counts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

: >"$WORK/results"
# RSS right after S1's load in round 1 (#12: ≤ 64 MiB under S1 load), and the largest seen at
# the end of any run (S3's runs keep their single-use records for the states' lifetime).
SB_RSS_S1=0
MIN_RSS_S1=0
SB_RSS_LOAD=0
MIN_RSS_LOAD=0
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="switchboard minimal"; else order="minimal switchboard"; fi
    for s in $SCENARIOS; do
        for side in $order; do
            lua=$WORK/$s.lua
            if [ "$s" = s3 ]; then
                # Fresh states for each run and its warm-up; both sides get the same bodies
                # and use each state up.
                s3_states "$S3_PER_SEC" "$WORK/s3-warm"
                s3_states $((S3_PER_SEC * SECS)) "$WORK/s3-states"
                lua=bench/s3.lua
            fi
            start "$side"
            # A second of warm-up on the fresh process, then the measured run.
            S3_STATES=$WORK/s3-warm taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d1s -s "$lua" "http://$ADDR" >/dev/null
            before=$(calls)
            S3_STATES=$WORK/s3-states taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$lua" "http://$ADDR" >"$WORK/out"
            grep '^s3:' "$WORK/out" | sed "s/^/round $round $side /" >&2 || true
            after=$(calls)
            kib=$(rss)
            if [ "$side" = switchboard ]; then
                [ "$round" = 1 ] && [ "$s" = s1 ] && SB_RSS_S1=$kib
                SB_RSS_LOAD=$((kib > SB_RSS_LOAD ? kib : SB_RSS_LOAD))
            else
                [ "$round" = 1 ] && [ "$s" = s1 ] && MIN_RSS_S1=$kib
                MIN_RSS_LOAD=$((kib > MIN_RSS_LOAD ? kib : MIN_RSS_LOAD))
            fi
            stop
            python3 bench/wrk_result.py "$WORK/out" "$round" "$s" "$side" $((after - before)) >>"$WORK/results"
        done
    done
    echo "round $round done" >&2
done
LOG_BYTES=$(stat -c %s "$WORK/switchboard.log")
python3 bench/report.py "$WORK/results" "$SB_RSS_IDLE" "$SB_RSS_LOAD" "$MIN_RSS_IDLE" "$MIN_RSS_LOAD" "$LOG_BYTES"
[ "$SB_RSS_S1" = 0 ] || echo "RSS right after S1's load (round 1): switchboard $((SB_RSS_S1 / 1024)).$((SB_RSS_S1 % 1024 * 10 / 1024)) MiB, minimal $((MIN_RSS_S1 / 1024)).$((MIN_RSS_S1 % 1024 * 10 / 1024)) MiB"
echo "(bench/run.sh $ROUNDS $SECS $CONNS; switchboard's log: $WORK/switchboard.log)"
trap - EXIT
cleanup
