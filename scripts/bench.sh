#!/usr/bin/env bash
# bench.sh — runs eventhub benchmark scenarios on this machine, each against a fresh
# private stack: a nats-server with JetStream in a temp dir and eventhub with a temp
# config routing the bench domain to bench's own webhook sinks. Everything it starts
# is stopped and removed on exit (trap), whatever the outcome.
#
# usage: scripts/bench.sh [--out DIR] [ingress|steady|sustained|all]...   (default: all)
#   ingress    ingress only: 50 connections, as fast as possible, 10 s; eventhub runs
#              with delivery.enabled: false (stores events, delivers none)
#   steady     2000 events/s to 2 sinks for 10 s
#   sustained  2 sinks for 20 s: at 6000 events/s, then as fast as possible
#   all        the three above
# --out DIR keeps each run's JSON result (DIR/<scenario>.json) and the server logs.
# Environment: BUILD (default ./build), BENCH, EVENTHUB, NATS_SERVER override binaries.
# Exit status: 0 when every run succeeded (some events accepted, none lost), 1 if a run
# failed, 2 on usage errors.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BENCH=${BENCH:-$BUILD/cmd/bench/bench}
EVENTHUB=${EVENTHUB:-$BUILD/cmd/eventhub/eventhub}
NATS_SERVER=${NATS_SERVER:-nats-server}
DOMAIN=bench.example.com
START_TIMEOUT_S=15

usage() {
    sed -n '7,16p' "$0" | sed 's/^# \{0,1\}//'
}

OUT=
scenarios=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out)
        [ $# -ge 2 ] || { usage >&2; exit 2; }
        OUT=$2
        shift 2
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    ingress | steady | sustained) scenarios+=("$1"); shift ;;
    all) scenarios+=(ingress steady sustained); shift ;;
    *)
        echo "bench.sh: unknown scenario or option '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ingress steady sustained)

for bin in "$BENCH" "$EVENTHUB"; do
    [ -x "$bin" ] || { echo "bench.sh: $bin not found; build first (make build)" >&2; exit 1; }
done
command -v "$NATS_SERVER" >/dev/null || { echo "bench.sh: $NATS_SERVER not in PATH" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench.sh: curl not in PATH" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/eventhub-bench.XXXXXX")
[ -z "$OUT" ] || mkdir -p "$OUT"
NATS_PID=
EH_PID=
USED_PORTS=" "

# Stops a process we started: SIGTERM, a bounded wait, then SIGKILL.
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_stack() {
    stop_pid "$EH_PID"
    EH_PID=
    stop_pid "$NATS_PID"
    NATS_PID=
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    stop_stack
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() {
    [ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
}

# Ports are picked below the kernel's ephemeral range, so that no outgoing connection
# (eventhub's, bench's) can hold one of them as its local port by the time it is bound.
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
PORT_HIGH=$((EPHEMERAL_LOW - 1))
PORT_LOW=$((PORT_HIGH > 13024 ? PORT_HIGH - 12000 : 1024))

# Sets FREE_PORT to the first of $1 consecutive free ports, picked at random in
# PORT_LOW..PORT_HIGH and never handed out twice by this script (so: no command
# substitution, which would lose USED_PORTS).
free_ports() {
    local n=$1 p i ok
    for _ in $(seq 1 200); do
        p=$((PORT_LOW + RANDOM % (PORT_HIGH - PORT_LOW - n + 2)))
        ok=1
        for i in $(seq 0 $((n - 1))); do
            case "$USED_PORTS" in *" $((p + i)) "*) ok=0 ;; esac
            if port_in_use $((p + i)); then ok=0; fi
        done
        if [ $ok = 1 ]; then
            for i in $(seq 0 $((n - 1))); do USED_PORTS="$USED_PORTS$((p + i)) "; done
            FREE_PORT=$p
            return 0
        fi
    done
    echo "bench.sh: no free port found" >&2
    return 1
}

# Polls URL until it answers 200, the process $2 dies, or START_TIMEOUT_S passes.
wait_http_200() {
    local url=$1 pid=$2 deadline=$((SECONDS + START_TIMEOUT_S))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" = 200 ]; then
            return 0
        fi
        sleep 0.05
    done
    return 1
}

show_log() {
    echo "---- last lines of $1" >&2
    tail -n 30 "$1" >&2 || true
}

# start_stack NAME DELIVERY: starts nats-server and eventhub for one run, with
# delivery.enabled set to DELIVERY (true/false); sets EH_URL, EH_PID, SINK_PORT, RUN_DIR.
start_stack() {
    local delivery=$2
    RUN_DIR=$TMP/$1
    mkdir -p "$RUN_DIR/nats"
    local nats_port mon_port eh_port
    free_ports 1 && nats_port=$FREE_PORT
    free_ports 1 && mon_port=$FREE_PORT
    free_ports 1 && eh_port=$FREE_PORT
    free_ports 2 && SINK_PORT=$FREE_PORT
    "$NATS_SERVER" -a 127.0.0.1 -p "$nats_port" -m "$mon_port" -js -sd "$RUN_DIR/nats" \
        >"$RUN_DIR/nats.log" 2>&1 &
    NATS_PID=$!
    if ! wait_http_200 "http://127.0.0.1:$mon_port/healthz?js-enabled-only=true" "$NATS_PID"; then
        echo "bench.sh: nats-server did not start" >&2
        show_log "$RUN_DIR/nats.log"
        return 1
    fi
    cat >"$RUN_DIR/eventhub.yaml" <<EOF
server: {address: 127.0.0.1, port: $eh_port}
nats:
  url: nats://127.0.0.1:$nats_port
  stream_name: BENCH
  subject_pattern: "bench.*"
delivery: {enabled: $delivery}
routes:
  - domain: $DOMAIN
    endpoints: ["http://127.0.0.1:$SINK_PORT/webhook", "http://127.0.0.1:$((SINK_PORT + 1))/webhook"]
EOF
    (cd "$RUN_DIR" && exec "$EVENTHUB" -config "$RUN_DIR/eventhub.yaml" -log-level warn \
        -domain-logging=false >"$RUN_DIR/eventhub.log" 2>&1) &
    EH_PID=$!
    EH_URL=http://127.0.0.1:$eh_port/events
    if ! wait_http_200 "http://127.0.0.1:$eh_port/health" "$EH_PID"; then
        echo "bench.sh: eventhub did not become healthy" >&2
        show_log "$RUN_DIR/eventhub.log"
        return 1
    fi
}

failed=0

# run NAME SINKS BENCH-ARGS...: one bench run on a fresh stack.
run() {
    local name=$1 sinks=$2 rc=0
    shift 2
    echo
    echo "==== $name"
    local delivery=true
    [ "$sinks" != 0 ] || delivery=false
    start_stack "$name" "$delivery" || { failed=1; stop_stack; return 0; }
    local cmd=("$BENCH" --url "$EH_URL" --domain "$DOMAIN" --pid "$EH_PID" --json "$@")
    [ "$sinks" = 0 ] || cmd+=(--sinks "$sinks" --sink-port "$SINK_PORT")
    echo "+ ${cmd[*]}"
    # The human table goes to stderr (shown); the JSON result to a file.
    "${cmd[@]}" >"$RUN_DIR/result.json" || rc=$?
    if ! kill -0 "$EH_PID" 2>/dev/null; then
        echo "bench.sh: eventhub exited during the run" >&2
        rc=1
    fi
    if [ $rc != 0 ]; then
        echo "bench.sh: $name failed (bench exit $rc)" >&2
        show_log "$RUN_DIR/eventhub.log"
        failed=1
    fi
    if [ -n "$OUT" ]; then
        cp "$RUN_DIR/result.json" "$OUT/$name.json"
        cp "$RUN_DIR/eventhub.log" "$OUT/$name.eventhub.log"
    fi
    stop_stack
}

for s in "${scenarios[@]}"; do
    case "$s" in
    ingress) run ingress 0 --connections 50 --duration 10 ;;
    steady) run steady 2 --connections 50 --rate 2000 --duration 10 ;;
    sustained)
        # Deliveries may trail ingress at full speed: the long drain lets the backlog
        # empty, so "delivered events/s" is the sustained delivery rate.
        run sustained-6000 2 --connections 50 --rate 6000 --duration 20 --drain-timeout 120
        run sustained-max 2 --connections 50 --duration 20 --drain-timeout 120
        ;;
    esac
done
exit $failed
