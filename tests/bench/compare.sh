#!/usr/bin/env bash
# compare.sh: Weituo side by side with RabbitMQ and NATS JetStream (issue 6),
# on this machine, in one run, with the same workload (tests/bench/
# compare_workload.h: P producer courts, C consumer courts, ~1 KB encoded
# commissions, each stored durably before it is confirmed and acked by its
# consumer after handling). Prints one JSON line per run.
#
# Installs what is missing from Debian (rabbitmq-server, nats-server,
# librabbitmq-dev, libnats-dev, gnuplot-nox), but never uses or alters the system's own
# services: it stops and disables any rabbitmq-server service the package
# started, and runs its own servers on free loopback ports with their data
# in a temporary folder, removed at the end.
#
#   tests/bench/compare.sh                      # closed loop 10,000; open loop 1,000/s for 5 s
#   COUNT=100000 RATES="1000 10000" SECONDS_=10 tests/bench/compare.sh
#   SYSTEMS="rabbitmq nats" tests/bench/compare.sh   # only the others
#
# The table and plot of docs/benchmarks.md: medians over repeated runs,
#   for r in 1 2 3; do COUNT=20000 RATES="1000 10000" tests/bench/compare.sh > run$r.jsonl; done
#   tests/bench/compare_report.py --png docs/img/compare.png run*.jsonl
#
# Two Weituo systems: "weituo" is weituo_bench (the SDK's agents, each with
# its own RocksDB store); "weituo-wire" is weituo_wire_bench (light clients
# speaking the wire protocol on DEALER sockets, like the others' clients).
#
# Environment: BUILD_DIR (default build-cmp), SYSTEMS (weituo weituo-wire rabbitmq nats),
# COUNT (10000), RATES (1000), SECONDS_ (5), PRODUCERS and CONSUMERS (8),
# WINDOW (128), PREFETCH (256), RABBIT_QUEUE_TYPE (classic or quorum).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-cmp}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
SYSTEMS="${SYSTEMS:-weituo weituo-wire rabbitmq nats}"
COUNT="${COUNT:-10000}"
RATES="${RATES:-1000}"
SECONDS_="${SECONDS_:-5}"
PRODUCERS="${PRODUCERS:-8}"
CONSUMERS="${CONSUMERS:-8}"
WINDOW="${WINDOW:-128}"
PREFETCH="${PREFETCH:-256}"
RABBIT_QUEUE_TYPE="${RABBIT_QUEUE_TYPE:-classic}"

log() { echo "compare.sh: $*" >&2; }

# --- install, without starting anything -----------------------------------
need=()
command -v nats-server >/dev/null || need+=(nats-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
[ -f /usr/include/amqp.h ] || [ -f /usr/include/rabbitmq-c/amqp.h ] || need+=(librabbitmq-dev)
[ -f /usr/include/nats/nats.h ] || need+=(libnats-dev)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)  # compare_report.py's plot
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y "${need[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; }
  # The package may have started the system's own RabbitMQ: stop it and
  # keep it from starting at boot. Ours runs apart from it.
  if [ -d /run/systemd/system ]; then
    systemctl stop rabbitmq-server >&2 || true
    systemctl disable rabbitmq-server >&2 || true
  elif service rabbitmq-server status >/dev/null 2>&1; then
    service rabbitmq-server stop >&2 || true
  fi
fi

# --- build ------------------------------------------------------------------
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
targets=()
for s in $SYSTEMS; do
  case "$s" in
    weituo) targets+=(weituo_bench weituo-broker) ;;
    weituo-wire) targets+=(weituo_wire_bench weituo-broker) ;;
    rabbitmq) targets+=(rabbit_bench) ;;
    nats) targets+=(nats_bench) ;;
    *) log "unknown system $s"; exit 2 ;;
  esac
done
if ! make -C "$BUILD_DIR" -j2 "${targets[@]}" >"$BUILD_DIR/compare-build.log" 2>&1; then
  tail -40 "$BUILD_DIR/compare-build.log" >&2
  exit 1
fi
BENCH="$BUILD_DIR/tests/bench"

# --- helpers -----------------------------------------------------------------
TMP="$(mktemp -d /tmp/weituo-compare-XXXXXX)"
SERVER_PID=""
STOP_SERVER=":"
cleanup() {
  eval "$STOP_SERVER" || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# A loopback TCP port that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs one driver in closed loop and at each rate; extra args go to each run.
run_driver() {
  local bin="$1"
  shift
  local common=(--producers "$PRODUCERS" --consumers "$CONSUMERS" --window "$WINDOW"
    --prefetch "$PREFETCH" --broker-pid "$SERVER_PID" --json "$@")
  "$bin" "${common[@]}" --count "$COUNT" || log "$(basename "$bin") closed loop failed"
  for rate in $RATES; do
    "$bin" "${common[@]}" --rate "$rate" --seconds "$SECONDS_" ||
      log "$(basename "$bin") open loop at $rate/s failed"
  done
}

# --- Weituo --------------------------------------------------------------------
# weituo_bench starts its own broker; it has no producer/consumer split: each
# of its agents is both (8 agents = 8 producer and 8 consumer courts). Its
# broker runs with a WAL sync per batch, then with sync off; its lines get a
# "system" key like the others'.
weituo_run() {
  "$BENCH/weituo_bench" --agents "$PRODUCERS" --json "$@" | sed 's/^{/{"system":"weituo",/'
}
# Runs "$1" (a function that runs one Weituo bench with the rest of its
# arguments) with the broker's WAL synced per batch, then with sync off:
# closed loop, then each offered rate.
each_sync_and_load() {
  local run="$1" name="$2"
  for sync in true false; do
    "$run" --sync "$sync" --count "$COUNT" || log "$name sync=$sync closed loop failed"
    for rate in $RATES; do
      "$run" --sync "$sync" --rate "$rate" --seconds "$SECONDS_" ||
        log "$name sync=$sync at $rate/s failed"
    done
  done
}
run_weituo() { each_sync_and_load weituo_run weituo_bench; }

# --- Weituo, wire clients ------------------------------------------------------
# weituo_wire_bench also starts its own broker (so no --broker-pid), with the
# broker's per-court delivery window set to PREFETCH; one connection per court,
# each court both producer and consumer when PRODUCERS = CONSUMERS = 8. Its
# lines carry "system":"weituo-wire" and the broker's sync setting in "label".
wire_run() {
  "$BENCH/weituo_wire_bench" --producers "$PRODUCERS" --consumers "$CONSUMERS" \
    --window "$WINDOW" --prefetch "$PREFETCH" --json "$@"
}
run_weituo_wire() { each_sync_and_load wire_run weituo_wire_bench; }

# --- RabbitMQ ------------------------------------------------------------------
# Our own node: its own name, ports, epmd, cookie (HOME) and data folders;
# the Debian wrapper /usr/sbin/rabbitmq-server would switch to the system's
# rabbitmq user and folders, so the scripts under /usr/lib/rabbitmq/bin are
# used directly.
run_rabbitmq() {
  local dir="$TMP/rabbitmq"
  mkdir -p "$dir/mnesia" "$dir/log" "$dir/home"
  local port dist epmd
  port="$(free_port)"
  dist="$(free_port)"
  epmd="$(free_port)"
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$port
log.file.level = warning
log.console = false
disk_free_limit.absolute = 100MB
EOF
  echo "[]." >"$dir/enabled_plugins"
  export HOME="$dir/home" ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_NODENAME="weituo-bench-$$@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist"
  export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
  echo "[]." >"$dir/advanced.config"
  /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/server.out" 2>&1 &
  STOP_SERVER="/usr/lib/rabbitmq/bin/rabbitmqctl -n $RABBITMQ_NODENAME stop >/dev/null 2>&1;
    epmd -port $epmd -kill >/dev/null 2>&1; wait $! 2>/dev/null"
  if ! /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" wait "$RABBITMQ_PID_FILE" \
    --timeout 90 >/dev/null 2>&1; then
    log "RabbitMQ did not start; its output:"
    tail -20 "$dir/server.out" >&2
    eval "$STOP_SERVER"
    return 1
  fi
  SERVER_PID="$(cat "$RABBITMQ_PID_FILE")"
  log "RabbitMQ $(/usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" version 2>/dev/null) on 127.0.0.1:$port, beam pid $SERVER_PID"
  run_driver "$BENCH/rabbit_bench" --url "amqp://guest:guest@127.0.0.1:$port" \
    --queue-type "$RABBIT_QUEUE_TYPE"
  eval "$STOP_SERVER"
  STOP_SERVER=":"
  unset ERL_EPMD_PORT ERL_EPMD_ADDRESS RABBITMQ_NODENAME
}

# --- NATS JetStream ---------------------------------------------------------------
run_nats() {
  local dir="$TMP/nats"
  mkdir -p "$dir"
  local port
  port="$(free_port)"
  nats-server -js -sd "$dir/store" -a 127.0.0.1 -p "$port" -l "$dir/server.log" &
  SERVER_PID=$!
  # nats-server exits 1 on SIGTERM: not a failure of the run.
  STOP_SERVER="kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true"
  for _ in $(seq 100); do
    grep -q "Server is ready" "$dir/server.log" 2>/dev/null && break
    sleep 0.1
  done
  if ! grep -q "Server is ready" "$dir/server.log" 2>/dev/null; then
    log "nats-server did not start"
    tail -20 "$dir/server.log" >&2 || true
    eval "$STOP_SERVER"
    return 1
  fi
  log "$(nats-server --version) on 127.0.0.1:$port, pid $SERVER_PID"
  run_driver "$BENCH/nats_bench" --url "nats://127.0.0.1:$port"
  eval "$STOP_SERVER"
  STOP_SERVER=":"
}

for s in $SYSTEMS; do
  "run_${s//-/_}"
done
