#!/usr/bin/env bash
# bench.sh — runs eventhub benchmark scenarios on this machine, each against a fresh
# private stack: a nats-server with JetStream in a temp dir and eventhub with a temp
# config routing the bench domain to bench's own webhook sinks. Everything it starts
# is stopped and removed on exit (trap), whatever the outcome.
#
# usage: scripts/bench.sh [--out DIR] [ingress|steady|sustained|noisy|baseline|all]...
#        (default: all)
#   ingress    ingress only: 50 connections, as fast as possible, 10 s; eventhub runs
#              with delivery.enabled: false (stores events, delivers none)
#   steady     2000 events/s to 2 sinks for 10 s
#   sustained  2 sinks for 20 s: at 9500 events/s, then as fast as possible
#   noisy      noisy neighbour: a backlog for bad domains whose endpoint misbehaves,
#              then healthy domains at a rate; healthy e2e latency, healthy events not
#              delivered by the end of the drain, calls/s reaching the bad endpoint.
#              1 bad + 1 healthy domain with the bad endpoint failing, then slow;
#              then 10 bad + 90 healthy domains (failing).
#   baseline   eventhub next to bench-baseline (cmd/bench-baseline: the minimal loops on
#              the same libraries), one run of each, printed as one table (eventhub,
#              baseline, eventhub/baseline): ingress, eventhub with delivery off against
#              the minimal MHD + async-publish loop (50 connections, 10 s); and drain,
#              BASELINE_COUNT events stored through eventhub with delivery off, then
#              delivered to 2 sinks by eventhub (restarted with delivery on) against the
#              minimal push consumer on the same kind of backlog (each on a fresh stack)
#   all        the four above (not baseline)
# --out DIR keeps each run's JSON result (DIR/<scenario>.json) and the server logs.
# Environment: BUILD (default ./build), BENCH, EVENTHUB, NATS_SERVER override binaries.
#   noisy: NOISY_MODE (fail|slow|hang|refuse: only this mode, in both variants),
#   NOISY_BACKLOG (50000), NOISY_RATE (200), NOISY_DURATION (30), NOISY_DRAIN (30 s),
#   NOISY_BAD (1), NOISY_HEALTHY (1), NOISY_WIDE_BAD (10), NOISY_WIDE_HEALTHY (90;
#   0 skips the wide variant), NOISY_SINKS (1), NOISY_DELAY_MS (2500).
#   SIGNED=1: every sink endpoint has a secret, so every call carries webhook-id,
#   webhook-timestamp and an HMAC-SHA256 webhook-signature (the cost of signing).
#   CLUSTER=1: a 3-node nats-server cluster on loopback instead of one server, eventhub
#   connected to all three (nats.servers) with nats.stream.replicas: 3 (not baseline).
#   baseline: BASELINE_BIN (default BUILD/cmd/bench-baseline/bench-baseline),
#   BASELINE_COUNT (40000), BASELINE_DURATION (10 s of ingress), BASELINE_MSG_ID=1 (the minimal ingress sets a unique
#   Nats-Msg-Id per event, as eventhub does).
# Exit status: 0 when every run succeeded (some events accepted, none lost; for noisy:
# every healthy event delivered), 1 if a run failed, 2 on usage errors.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
BENCH=${BENCH:-$BUILD/cmd/bench/bench}
EVENTHUB=${EVENTHUB:-$BUILD/cmd/eventhub/eventhub}
NATS_SERVER=${NATS_SERVER:-nats-server}
DOMAIN=bench.example.com
SIGNED=${SIGNED:-}
CLUSTER=${CLUSTER:-}
BENCH_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
START_TIMEOUT_S=15

usage() {
    sed -n '7,40p' "$0" | sed 's/^# \{0,1\}//'
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
    ingress | steady | sustained | noisy | baseline) scenarios+=("$1"); shift ;;
    all) scenarios+=(ingress steady sustained noisy); shift ;;
    *)
        echo "bench.sh: unknown scenario or option '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(ingress steady sustained noisy)

NOISY_MODE=${NOISY_MODE:-}
NOISY_BACKLOG=${NOISY_BACKLOG:-50000}
NOISY_RATE=${NOISY_RATE:-200}
NOISY_DURATION=${NOISY_DURATION:-30}
NOISY_DRAIN=${NOISY_DRAIN:-30}
NOISY_BAD=${NOISY_BAD:-1}
NOISY_HEALTHY=${NOISY_HEALTHY:-1}
NOISY_WIDE_BAD=${NOISY_WIDE_BAD:-10}
NOISY_WIDE_HEALTHY=${NOISY_WIDE_HEALTHY:-90}
NOISY_SINKS=${NOISY_SINKS:-1}
NOISY_DELAY_MS=${NOISY_DELAY_MS:-2500}
case "$NOISY_MODE" in
"" | fail | slow | hang | refuse) ;;
*) echo "bench.sh: NOISY_MODE must be fail, slow, hang or refuse" >&2; exit 2 ;;
esac
for v in NOISY_BACKLOG NOISY_RATE NOISY_DURATION NOISY_DRAIN NOISY_BAD NOISY_HEALTHY \
    NOISY_WIDE_BAD NOISY_WIDE_HEALTHY NOISY_SINKS NOISY_DELAY_MS; do
    case "${!v}" in
    '' | *[!0-9]*) echo "bench.sh: $v must be a whole number" >&2; exit 2 ;;
    esac
done

BASELINE_BIN=${BASELINE_BIN:-$BUILD/cmd/bench-baseline/bench-baseline}
BASELINE_COUNT=${BASELINE_COUNT:-40000}
BASELINE_MSG_ID=${BASELINE_MSG_ID:-}
BASELINE_DURATION=${BASELINE_DURATION:-10}
case "$BASELINE_DURATION" in
'' | *[!0-9]* | 0) echo "bench.sh: BASELINE_DURATION must be a whole number > 0" >&2; exit 2 ;;
esac
case "$BASELINE_COUNT" in
'' | *[!0-9]* | 0) echo "bench.sh: BASELINE_COUNT must be a whole number > 0" >&2; exit 2 ;;
esac
bins=("$BENCH" "$EVENTHUB")
case " ${scenarios[*]} " in
*" baseline "*)
    bins+=("$BASELINE_BIN")
    if [ -n "$CLUSTER" ]; then
        echo "bench.sh: baseline runs on one nats-server (unset CLUSTER)" >&2
        exit 2
    fi
    command -v jq >/dev/null || { echo "bench.sh: baseline needs jq" >&2; exit 1; }
    ;;
esac
for bin in "${bins[@]}"; do
    [ -x "$bin" ] || { echo "bench.sh: $bin not found; build first (make build)" >&2; exit 1; }
done
command -v "$NATS_SERVER" >/dev/null || { echo "bench.sh: $NATS_SERVER not in PATH" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench.sh: curl not in PATH" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/eventhub-bench.XXXXXX")
[ -z "$OUT" ] || mkdir -p "$OUT"
NATS_PIDS=()
EH_PID=
BL_PID=
SINK_PID=
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
    stop_pid "$BL_PID"
    BL_PID=
    stop_pid "$SINK_PID"
    SINK_PID=
    local pid
    for pid in "${NATS_PIDS[@]}"; do
        stop_pid "$pid"
    done
    NATS_PIDS=()
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

# shellcheck disable=SC2317 # the route printers are invoked by name
# Prints a YAML flow list of the URLs of sinks SINK_PORT..SINK_PORT+$1-1 (with SIGNED,
# endpoint objects with a Standard Webhooks secret: every call is signed).
sink_urls() {
    local i sep=
    printf '['
    for i in $(seq 0 $(($1 - 1))); do
        if [ -n "$SIGNED" ]; then
            printf '%s{url: "http://127.0.0.1:%d/webhook", secret: "%s"}' "$sep" \
                $((SINK_PORT + i)) "$BENCH_SECRET"
        else
            printf '%s"http://127.0.0.1:%d/webhook"' "$sep" $((SINK_PORT + i))
        fi
        sep=', '
    done
    printf ']'
}

# The routes of the plain scenarios: the bench domain to the sinks (to two sink
# ports when the run has none: ingress only, nothing is delivered).
# shellcheck disable=SC2317
routes_plain() {
    echo "routes:"
    echo "  - domain: $DOMAIN"
    echo "    endpoints: $(sink_urls $((SINKS > 0 ? SINKS : 2)))"
}

# The routes of the noisy scenario: each of NOISY_H healthy domains to the sinks,
# each of NOISY_B bad domains to the bad sink (with refuse: a port nobody listens on).
# shellcheck disable=SC2317
routes_noisy() {
    local i
    echo "routes:"
    for i in $(seq 0 $((NOISY_H - 1))); do
        echo "  - domain: healthy-$i.bench.example"
        echo "    endpoints: $(sink_urls "$SINKS")"
    done
    for i in $(seq 0 $((NOISY_B - 1))); do
        echo "  - domain: bad-$i.bench.example"
        echo "    endpoints: [\"http://127.0.0.1:$BAD_PORT/webhook\"]"
    done
}

# start_nats: one nats-server with JetStream in RUN_DIR; sets NATS_URLS.
start_nats() {
    local nats_port mon_port
    free_ports 1 && nats_port=$FREE_PORT
    free_ports 1 && mon_port=$FREE_PORT
    mkdir -p "$RUN_DIR/nats"
    "$NATS_SERVER" -a 127.0.0.1 -p "$nats_port" -m "$mon_port" -js -sd "$RUN_DIR/nats" \
        >"$RUN_DIR/nats.log" 2>&1 &
    NATS_PIDS+=($!)
    if ! wait_http_200 "http://127.0.0.1:$mon_port/healthz?js-enabled-only=true" $!; then
        echo "bench.sh: nats-server did not start" >&2
        show_log "$RUN_DIR/nats.log"
        return 1
    fi
    NATS_URLS=nats://127.0.0.1:$nats_port
}

# start_cluster: three nats-servers with JetStream, routed to each other, stores in
# RUN_DIR/nats-1..3; waits until all three name the same JetStream meta leader; sets
# NATS_URLS (the items of a YAML flow list).
start_cluster() {
    local i port=() mport=() cport=() routes='' sep='' leaders deadline
    for i in 0 1 2; do
        free_ports 1 && port[i]=$FREE_PORT
        free_ports 1 && mport[i]=$FREE_PORT
        free_ports 1 && cport[i]=$FREE_PORT
        routes="$routes$sep\"nats-route://127.0.0.1:${cport[i]}\""
        sep=', '
    done
    NATS_URLS=
    sep=
    for i in 0 1 2; do
        mkdir -p "$RUN_DIR/nats-$((i + 1))"
        cat >"$RUN_DIR/nats-$((i + 1)).conf" <<CONF
server_name: nats-$((i + 1))
listen: "127.0.0.1:${port[i]}"
http: "127.0.0.1:${mport[i]}"
jetstream { store_dir: "$RUN_DIR/nats-$((i + 1))" }
cluster { name: bench, listen: "127.0.0.1:${cport[i]}", routes: [$routes] }
CONF
        "$NATS_SERVER" -c "$RUN_DIR/nats-$((i + 1)).conf" >"$RUN_DIR/nats-$((i + 1)).log" 2>&1 &
        NATS_PIDS+=($!)
        NATS_URLS="$NATS_URLS$sep\"nats://127.0.0.1:${port[i]}\""
        sep=', '
    done
    for i in 0 1 2; do
        if ! wait_http_200 "http://127.0.0.1:${mport[i]}/healthz?js-enabled-only=true" \
            "${NATS_PIDS[i]}"; then
            echo "bench.sh: nats-server nats-$((i + 1)) did not start" >&2
            show_log "$RUN_DIR/nats-$((i + 1)).log"
            return 1
        fi
    done
    deadline=$((SECONDS + START_TIMEOUT_S))
    while [ $SECONDS -lt $deadline ]; do
        # One line per node: the meta leader it names (empty when none).
        leaders=$(for i in 0 1 2; do
            curl -s --max-time 1 "http://127.0.0.1:${mport[i]}/jsz" |
                tr -d ' \n' | sed -n 's/.*"meta_cluster":{[^}]*"leader":"\([^"]*\)".*/\1/p'
            echo
        done | sort -u)
        case "$leaders" in
        '' | *$'\n'*) sleep 0.1 ;;
        *) return 0 ;;
        esac
    done
    echo "bench.sh: the nats cluster has no JetStream meta leader" >&2
    show_log "$RUN_DIR/nats-1.log"
    return 1
}

# start_stack NAME DELIVERY SINKS ROUTES: starts nats-server and eventhub for one run,
# with delivery.enabled set to DELIVERY (true/false) and the routes the function ROUTES
# prints; sets EH_URL, EH_PID, SINKS, SINK_PORT (SINKS ports from it), BAD_PORT, RUN_DIR.
# With CLUSTER, three nats-servers (start_cluster) instead of one.
start_stack() {
    local delivery=$2
    SINKS=$3
    EH_ROUTES=$4
    RUN_DIR=$TMP/$1
    mkdir -p "$RUN_DIR"
    if [ -n "$CLUSTER" ]; then
        start_cluster || return 1
        EH_NATS_YAML="  servers: [$NATS_URLS]
  stream: {name: BENCH, subject_pattern: \"bench.*\", replicas: 3}"
    else
        start_nats || return 1
        EH_NATS_YAML="  url: $NATS_URLS
  stream_name: BENCH
  subject_pattern: \"bench.*\""
    fi
    free_ports 1 && EH_PORT=$FREE_PORT
    free_ports $((SINKS > 2 ? SINKS : 2)) && SINK_PORT=$FREE_PORT
    free_ports 1 && BAD_PORT=$FREE_PORT
    start_eventhub "$delivery"
}

# start_eventhub DELIVERY: (re)starts eventhub on the stack start_stack set up (same
# broker, port and routes) with delivery.enabled: DELIVERY; sets EH_URL and EH_PID.
start_eventhub() {
    {
        cat <<EOF
server: {address: 127.0.0.1, port: $EH_PORT}
nats:
$EH_NATS_YAML
delivery: {enabled: $1, timeout: 3s}
EOF
        "$EH_ROUTES"
    } >"$RUN_DIR/eventhub.yaml"
    (cd "$RUN_DIR" && exec "$EVENTHUB" -config "$RUN_DIR/eventhub.yaml" -log-level warn \
        -domain-logging=false >>"$RUN_DIR/eventhub.log" 2>&1) &
    EH_PID=$!
    EH_URL=http://127.0.0.1:$EH_PORT/events
    if ! wait_http_200 "http://127.0.0.1:$EH_PORT/health" "$EH_PID"; then
        echo "bench.sh: eventhub did not become healthy" >&2
        show_log "$RUN_DIR/eventhub.log"
        return 1
    fi
}

failed=0

# run NAME SINKS BENCH-ARGS...: one bench run on a fresh stack.
run() {
    run_with routes_plain "$@"
}

# run_with ROUTES NAME SINKS BENCH-ARGS...: the same with the routes ROUTES prints; an
# argument @BAD_PORT@ stands for the bad endpoint's port.
run_with() {
    local routes=$1 name=$2 sinks=$3 rc=0 arg
    shift 3
    echo
    echo "==== $name"
    local delivery=true
    [ "$sinks" != 0 ] || delivery=false
    start_stack "$name" "$delivery" "$sinks" "$routes" || { failed=1; stop_stack; return 0; }
    local cmd=("$BENCH" --url "$EH_URL" --domain "$DOMAIN" --pid "$EH_PID" --json)
    for arg in "$@"; do
        [ "$arg" != @BAD_PORT@ ] || arg=$BAD_PORT
        cmd+=("$arg")
    done
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

# run_noisy NAME MODE BAD HEALTHY: one noisy-neighbour run. The timed phase ends at
# most NOISY_DRAIN s after sending stops, delivered or not; bench then reports the
# healthy events still missing ("healthy NOT delivered").
run_noisy() {
    local name=$1 mode=$2
    NOISY_B=$3
    NOISY_H=$4
    local bad_args=(--bad-sink-port @BAD_PORT@)
    [ "$mode" != refuse ] || bad_args=()
    run_with routes_noisy "$name" "$NOISY_SINKS" --connections 50 \
        --bad-domains "$NOISY_B" --bad-backlog "$NOISY_BACKLOG" --bad-mode "$mode" \
        --bad-delay-ms "$NOISY_DELAY_MS" "${bad_args[@]}" \
        --healthy-domains "$NOISY_H" --rate "$NOISY_RATE" --duration "$NOISY_DURATION" \
        --drain-timeout "$NOISY_DRAIN"
}

# ---- baseline: eventhub next to the minimal loops of cmd/bench-baseline ----

# wait_http_up URL PID: polls URL until anything answers (any HTTP status), the process
# PID dies, or START_TIMEOUT_S passes.
wait_http_up() {
    local url=$1 pid=$2 deadline=$((SECONDS + START_TIMEOUT_S))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        case "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" in
        '' | 000) sleep 0.05 ;;
        *) return 0 ;;
        esac
    done
    return 1
}

# proc_cpu_s PID: user + system CPU seconds the process has used so far.
proc_cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' \
        "/proc/$1/stat" 2>/dev/null || echo 0
}

# Figures of the baseline scenario, by key (eventhub_* / baseline_*).
declare -A BL_FIG=()

# baseline_ingress WHO: one ingress run (50 connections, BASELINE_DURATION s) against eventhub with
# delivery off (WHO=eventhub) or the minimal ingress loop (WHO=baseline) on a fresh
# nats-server; keeps accepted/s, p99 and the server's CPU per event.
baseline_ingress() {
    local who=$1 url pid port rc=0
    echo
    echo "==== baseline: ingress, $who"
    if [ "$who" = eventhub ]; then
        start_stack "ingress-$who" false 0 routes_plain || { stop_stack; return 1; }
        url=$EH_URL pid=$EH_PID
    else
        RUN_DIR=$TMP/ingress-$who
        mkdir -p "$RUN_DIR"
        start_nats || { stop_stack; return 1; }
        free_ports 1 && port=$FREE_PORT
        local cmd=("$BASELINE_BIN" --ingress --nats "$NATS_URLS" --port "$port" --stream BENCH)
        [ -z "$BASELINE_MSG_ID" ] || cmd+=(--msg-id)
        echo "+ ${cmd[*]}"
        "${cmd[@]}" >"$RUN_DIR/baseline.log" 2>&1 &
        BL_PID=$!
        if ! wait_http_up "http://127.0.0.1:$port/events" "$BL_PID"; then
            echo "bench.sh: bench-baseline --ingress did not start" >&2
            show_log "$RUN_DIR/baseline.log"
            stop_stack
            return 1
        fi
        url=http://127.0.0.1:$port/events pid=$BL_PID
    fi
    local bcmd=("$BENCH" --url "$url" --domain "$DOMAIN" --pid "$pid" --json --connections 50
        --duration "$BASELINE_DURATION")
    echo "+ ${bcmd[*]}"
    "${bcmd[@]}" >"$RUN_DIR/result.json" || rc=$?
    [ -z "$OUT" ] || cp "$RUN_DIR/result.json" "$OUT/baseline-ingress-$who.json"
    stop_stack
    [ $rc = 0 ] || { echo "bench.sh: ingress ($who) failed (bench exit $rc)" >&2; return 1; }
    BL_FIG[${who}_ingress]=$(jq -r '.accepted_per_s' "$RUN_DIR/result.json")
    BL_FIG[${who}_ingress_p99]=$(jq -r '.ingress_latency_ms.p99' "$RUN_DIR/result.json")
    BL_FIG[${who}_ingress_cpu]=$(jq -r '.pid_cpu_s.us_per_accepted_event // empty' \
        "$RUN_DIR/result.json")
}

# baseline_drain WHO: BASELINE_COUNT events stored through eventhub (delivery off) on a
# fresh stack, eventhub stopped, bench's sinks started (--expect: the drain rate from
# the first request to the last), then the backlog delivered to the 2 sinks by eventhub
# restarted with delivery on (WHO=eventhub) or by the minimal consumer (WHO=baseline).
baseline_drain() {
    local who=$1 rc=0 cpu=
    echo
    echo "==== baseline: drain $BASELINE_COUNT events to 2 sinks, $who"
    start_stack "drain-$who" false 2 routes_plain || { stop_stack; return 1; }
    local fill=("$BENCH" --url "$EH_URL" --domain "$DOMAIN" --json --connections 50
        --count "$BASELINE_COUNT")
    echo "+ ${fill[*]}"
    "${fill[@]}" >"$RUN_DIR/fill.json" 2>"$RUN_DIR/fill.txt" || rc=$?
    if [ $rc != 0 ] || [ "$(jq -r '.accepted' "$RUN_DIR/fill.json")" != "$BASELINE_COUNT" ]; then
        echo "bench.sh: storing the backlog failed (bench exit $rc)" >&2
        cat "$RUN_DIR/fill.txt" >&2
        stop_stack
        return 1
    fi
    stop_pid "$EH_PID"
    EH_PID=
    local sinks=("$BENCH" --sink-only --sinks 2 --sink-port "$SINK_PORT" --expect
        "$BASELINE_COUNT" --drain-timeout 600 --json)
    echo "+ ${sinks[*]} &"
    "${sinks[@]}" >"$RUN_DIR/drain.json" 2>"$RUN_DIR/drain.txt" &
    SINK_PID=$!
    if ! wait_http_up "http://127.0.0.1:$SINK_PORT/webhook" "$SINK_PID" ||
        ! wait_http_up "http://127.0.0.1:$((SINK_PORT + 1))/webhook" "$SINK_PID"; then
        echo "bench.sh: the sinks did not start" >&2
        stop_stack
        return 1
    fi
    if [ "$who" = eventhub ]; then
        echo "+ eventhub restarted with delivery.enabled: true"
        start_eventhub true || { stop_stack; return 1; }
        wait "$SINK_PID" || rc=$?
        SINK_PID=
        cpu=$(proc_cpu_s "$EH_PID")
    else
        local ccmd=("$BASELINE_BIN" --consumer --nats "$NATS_URLS" --stream BENCH --count
            "$BASELINE_COUNT" --webhook "http://127.0.0.1:$SINK_PORT/webhook"
            --webhook "http://127.0.0.1:$((SINK_PORT + 1))/webhook" --timeout 600)
        echo "+ ${ccmd[*]}"
        "${ccmd[@]}" >"$RUN_DIR/baseline.log" 2>&1 || rc=$?
        cat "$RUN_DIR/baseline.log"
        cpu=$(sed -n 's/.*; cpu \([0-9.]*\) s.*/\1/p' "$RUN_DIR/baseline.log")
        wait "$SINK_PID" || rc=$?
        SINK_PID=
    fi
    cat "$RUN_DIR/drain.txt" >&2
    [ -z "$OUT" ] || cp "$RUN_DIR/drain.json" "$OUT/baseline-drain-$who.json"
    stop_stack
    [ $rc = 0 ] || { echo "bench.sh: drain ($who) failed (exit $rc)" >&2; return 1; }
    BL_FIG[${who}_drain]=$(jq -r '.delivered_per_s' "$RUN_DIR/drain.json")
    # CPU of the delivering process over its whole life (start-up included) per event.
    BL_FIG[${who}_drain_cpu]=$(awk -v c="${cpu:-0}" -v n="$BASELINE_COUNT" \
        'BEGIN { if (c > 0) printf "%.1f", 1e6 * c / n }')
}

# baseline_row LABEL KEY: one table row, eventhub / baseline / ratio.
baseline_row() {
    local e=${BL_FIG[eventhub_$2]:-} b=${BL_FIG[baseline_$2]:-} ratio=-
    if [ -n "$e" ] && [ -n "$b" ]; then
        ratio=$(awk -v e="$e" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", e / b; else print "-" }')
    fi
    [ -z "$e" ] || e=$(awk -v v="$e" 'BEGIN { printf "%.1f", v }')
    [ -z "$b" ] || b=$(awk -v v="$b" 'BEGIN { printf "%.1f", v }')
    printf '%-44s %12s %12s %8s\n' "$1" "${e:--}" "${b:--}" "$ratio"
}

run_baseline() {
    baseline_ingress eventhub || failed=1
    baseline_ingress baseline || failed=1
    baseline_drain eventhub || failed=1
    baseline_drain baseline || failed=1
    echo
    echo "==== baseline: eventhub against the minimal loops (ratio = eventhub / baseline)"
    printf '%-44s %12s %12s %8s\n' scenario eventhub baseline ratio
    baseline_row "ingress, 50 connections, ${BASELINE_DURATION} s: events/s" ingress
    baseline_row "ingress: latency p99, ms" ingress_p99
    baseline_row "ingress: server CPU per event, us" ingress_cpu
    baseline_row "drain $BASELINE_COUNT to 2 sinks: events/s" drain
    baseline_row "drain: deliverer CPU per event, us" drain_cpu
    if [ -n "$OUT" ]; then
        {
            printf '{'
            local k sep=
            for k in "${!BL_FIG[@]}"; do
                printf '%s"%s":%s' "$sep" "$k" "${BL_FIG[$k]:-null}"
                sep=,
            done
            printf '}\n'
        } >"$OUT/baseline.json"
    fi
}

for s in "${scenarios[@]}"; do
    case "$s" in
    ingress) run ingress 0 --connections 50 --duration 10 ;;
    steady) run steady 2 --connections 50 --rate 2000 --duration 10 ;;
    sustained)
        # Deliveries may trail ingress at full speed: the long drain lets the backlog
        # empty, so "delivered events/s" is the sustained delivery rate.
        run sustained-9500 2 --connections 50 --rate 9500 --duration 20 --drain-timeout 120
        run sustained-max 2 --connections 50 --duration 20 --drain-timeout 120
        ;;
    baseline) run_baseline ;;
    noisy)
        modes=(fail slow)
        [ -z "$NOISY_MODE" ] || modes=("$NOISY_MODE")
        for mode in "${modes[@]}"; do
            run_noisy "noisy-$mode" "$mode" "$NOISY_BAD" "$NOISY_HEALTHY"
        done
        if [ "$NOISY_WIDE_HEALTHY" -gt 0 ]; then
            run_noisy "noisy-wide-${NOISY_MODE:-fail}" "${NOISY_MODE:-fail}" "$NOISY_WIDE_BAD" \
                "$NOISY_WIDE_HEALTHY"
        fi
        ;;
    esac
done
exit $failed
