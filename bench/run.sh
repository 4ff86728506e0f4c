#!/usr/bin/env bash
# Switchboard against a minimal axum + reqwest program doing the same observable work.
#
#   bench/run.sh [rounds=5] [seconds per run=5] [connections=32]
#
# S1: slash command → templated ephemeral reply (bench/routes/s1.toml)
# S2: slash command → [post] into its own channel → confirmation (bench/routes/s2.toml)
# S3: dialog submission → validation → {} (bench/routes/s3.toml)
#
# Switchboard runs `serve` from the repository root with the shipped config.toml (default
# settings, the access log line on), pointed at bench/routes and at the stand-in Mattermost
# (bench/minimal/src/bin/standin.rs). The minimal program is bench/minimal/src/bin/minimal.rs.
# Each server is pinned to CPU 0; wrk and the stand-in share CPU 1. Rounds interleave the two
# sides (the order flips every round); a scenario's ratio is the median of its per-round
# ratios of requests/s. Upstream calls per request come from the stand-in's own counter.
# Needs: wrk (installed with apt-get when missing), python3, curl, taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECS=${2:-5}
CONNS=${3:-32}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}

if ! command -v wrk >/dev/null; then
    echo "installing wrk" >&2
    (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null
fi

# BENCH_SWITCHBOARD_BIN: another build of switchboard to measure (e.g. a variant kept aside).
SB_BIN=${BENCH_SWITCHBOARD_BIN:-target/release/switchboard}
[ -n "${BENCH_SWITCHBOARD_BIN:-}" ] || cargo build --release --bin switchboard
# Its own target directory: sharing target/ with Switchboard made each build rebuild the
# dependencies both use (their fingerprints differ), i.e. every run rebuilt everything.
cargo build --release --manifest-path bench/minimal/Cargo.toml --target-dir target/minimal

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

STANDIN=127.0.0.1:18065
SB=127.0.0.1:18100
MIN=127.0.0.1:18101
TOKEN=benchcommandtoken000000000   # what the stand-in hands out for every created command
# Switchboard's signing key; S3's states are signed with it too (bench/s3_states.py).
SIGNING_SECRET=$(head -c 32 /dev/urandom | base64)

taskset -c "$LOAD_CPU" target/minimal/release/standin "$STANDIN" &
PIDS+=($!)
taskset -c "$SERVER_CPU" target/minimal/release/minimal "$MIN" "http://$STANDIN" "$TOKEN" &
MIN_PID=$!
PIDS+=($MIN_PID)
# Default configuration; only addresses, secrets and the routes directory are set.
SWITCHBOARD_SERVER__LISTEN=$SB \
SWITCHBOARD_SERVER__PUBLIC_URL=http://$SB \
SWITCHBOARD_MATTERMOST__URL=http://$STANDIN \
SWITCHBOARD_MATTERMOST__TOKEN=bench-bot-token \
SWITCHBOARD_ROUTES__DIR=bench/routes \
SWITCHBOARD_SIGNING__KEYS="bench:$SIGNING_SECRET" \
    taskset -c "$SERVER_CPU" "$SB_BIN" serve 2>"$WORK/switchboard.log" &
SB_PID=$!
PIDS+=($SB_PID)

for _ in $(seq 100); do
    curl -fs "http://$SB/readyz" >/dev/null 2>&1 && curl -s "http://$MIN/" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://$SB/readyz" >/dev/null || { echo "switchboard not ready:" >&2; tail "$WORK/switchboard.log" >&2; exit 1; }
sleep 1
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
SB_RSS_IDLE=$(rss $SB_PID)
MIN_RSS_IDLE=$(rss $MIN_PID)

IDS="team_id=benchteamid000000000000000&team_domain=main&channel_id=benchchannelid000000000000&channel_name=town-square&user_id=benchuserid000000000000000&user_name=alice"
form() { echo "token=$TOKEN&$IDS&command=%2F$1&text=$2&trigger_id=benchtrigger&response_url=http%3A%2F%2F$STANDIN%2Fhooks%2Fx"; }

# S3's signed states. A dialog state is single-use (a replay is refused, issue #13), so every
# submission needs its own: open the dialog once through Switchboard, take its state from the
# stand-in, and re-sign it with fresh nonces (bench/s3_states.py), more than a run can send.
curl -fs -X POST -H 'Content-Type: application/x-www-form-urlencoded' --data "$(form s3 '')" "http://$SB/commands/s3" >/dev/null
curl -fs "http://$STANDIN/_last_dialog" >"$WORK/dialog.json"
S3_PER_SEC=${BENCH_S3_STATES_PER_SEC:-100000}
s3_states() { # count → $WORK/s3-states
    python3 bench/s3_states.py "$WORK/dialog.json" "$SIGNING_SECRET" "$1" >"$WORK/s3-states"
}
s3_states 3
S3_BODY=$(sed -n 1p "$WORK/s3-states")
S3_INVALID=$(sed -n 2p "$WORK/s3-states" | sed 's/v1\.2\.3/v/')

script() { # name path content-type body
    python3 - "$WORK/$1.lua" "$2" "$3" "$4" <<'EOF'
import json, sys
out, path, ctype, body = sys.argv[1:]
open(out, "w").write(
    f'wrk.method = "POST"\nwrk.path = {json.dumps(path)}\n'
    f'wrk.headers["Content-Type"] = {json.dumps(ctype)}\nwrk.body = {json.dumps(body)}\n')
EOF
}
FORM=application/x-www-form-urlencoded
script s1 /commands/s1 $FORM "$(form s1 'ship%20it')"
script s2 /commands/s2 $FORM "$(form s2 'ship%20it')"

# Same observable answer on both sides.
check() { # scenario path ctype body
    local sb min
    sb=$(curl -s -X POST -H "Content-Type: $3" --data "$4" "http://$SB$2")
    min=$(curl -s -X POST -H "Content-Type: $3" --data "$4" "http://$MIN$2")
    if [ "$sb" != "$min" ]; then
        echo "warning: $1 answers differ: switchboard $sb / minimal $min" >&2
    else
        echo "$1 answer (both): $sb" >&2
    fi
}
check s1 /commands/s1 $FORM "$(form s1 'ship%20it')"
check s2 /commands/s2 $FORM "$(form s2 'ship%20it')"
check s3 /dialogs/s3 application/json "$S3_BODY"
check s3-invalid /dialogs/s3 application/json "$S3_INVALID"
echo "s3 replayed (switchboard refuses it): $(curl -s -X POST -H "Content-Type: application/json" \
    --data "$S3_BODY" "http://$SB/dialogs/s3")" >&2

calls() { curl -fs "http://$STANDIN/_counts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'; }

: >"$WORK/results"
# RSS right after round 1's S1 run, the first load either side sees (#12: ≤ 64 MiB under S1
# load); later rounds would count S3's single-use records, kept for the states' lifetime.
SB_RSS_S1=0
MIN_RSS_S1=0
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="switchboard minimal"; else order="minimal switchboard"; fi
    for s in s1 s2 s3; do
        for side in $order; do
            if [ "$side" = switchboard ]; then addr=$SB; else addr=$MIN; fi
            lua=$WORK/$s.lua
            if [ "$s" = s3 ]; then
                # Fresh states for each run; both sides get the same bodies (the minimal
                # program does not read the state).
                s3_states $((S3_PER_SEC * SECS))
                lua=bench/s3.lua
            fi
            before=$(calls)
            S3_STATES=$WORK/s3-states taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$lua" "http://$addr" >"$WORK/out"
            grep '^s3:' "$WORK/out" | sed "s/^/round $round $side /" >&2 || true
            after=$(calls)
            if [ "$round" = 1 ] && [ "$s" = s1 ]; then
                if [ "$side" = switchboard ]; then SB_RSS_S1=$(rss $SB_PID); else MIN_RSS_S1=$(rss $MIN_PID); fi
            fi
            python3 bench/wrk_result.py "$WORK/out" "$round" "$s" "$side" $((after - before)) >>"$WORK/results"
        done
    done
    echo "round $round done" >&2
done
SB_RSS_LOAD=$(rss $SB_PID)
MIN_RSS_LOAD=$(rss $MIN_PID)
LOG_BYTES=$(stat -c %s "$WORK/switchboard.log")
python3 bench/report.py "$WORK/results" "$SB_RSS_IDLE" "$SB_RSS_LOAD" "$MIN_RSS_IDLE" "$MIN_RSS_LOAD" "$LOG_BYTES"
echo "RSS right after S1's load (round 1): switchboard $((SB_RSS_S1 / 1024)).$((SB_RSS_S1 % 1024 * 10 / 1024)) MiB, minimal $((MIN_RSS_S1 / 1024)).$((MIN_RSS_S1 % 1024 * 10 / 1024)) MiB"
echo "(bench/run.sh $ROUNDS $SECS $CONNS; switchboard's log: $WORK/switchboard.log)"
trap - EXIT
cleanup
