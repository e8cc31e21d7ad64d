#!/usr/bin/env bash
# How long a court's configured handler takes to answer: from the broker's
# submission receipt to its record of the result, read from the trail (the
# broker's own clock at both ends). A zone on loopback, encrypted as in the
# quick start: a broker, Dexing (which asks) and Wuyuan (which answers), one
# commission at a time, so each figure is the unloaded path.
#
# Wuyuan answers in one of three ways, so the handler's own cost can be told
# from the agent's:
#   builtin   the stock agent's demo responder, in process (no handler)
#   sh        [handlers.ASSET_QUERY] a shell script that prints a fixed answer
#   register  [handlers.ASSET_QUERY] deploy/handlers/asset-register.py and its
#             CSV register (the quick start's handler)
#
# Usage: tests/bench/auto_answer.sh [BUILD_DIR]   (default build)
#   COUNT=30 HANDLERS="builtin sh register"
# Prints one JSON line per handler: count, median, p90 and max in ms.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
count=${COUNT:-30}
handlers=${HANDLERS:-builtin sh register}
broker_bin=$build/broker/weituo-broker
agent_bin=$build/agent/weituo-agent
ctl_bin=$build/broker/weituoctl

run=$(mktemp -d /tmp/weituo-auto-answer-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT

free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

. "$root/deploy/lib/zone-keys.sh"
cp "$root/deploy/zone/courts.toml" "$run/courts.toml"
make_zone_keys "$ctl_bin" "$run/keys" "$run/courts.toml" dexing wuyuan

cat >"$run/fixed.sh" <<'SH'
#!/bin/sh
cat > /dev/null
echo '{"complete":{"result":{"assets":{}}}}'
SH
chmod +x "$run/fixed.sh"

cli() { local court=$1; shift; "$agent_bin" "$@" -c "$run/$court.toml"; }

for handler in $handlers; do
  port=$(free_port 46555)
  endpoint="tcp://127.0.0.1:$port"
  rm -rf "$run/broker" "$run/dexing-data" "$run/wuyuan-data"
  "$broker_bin" --data-dir "$run/broker" --directory "$run/courts.toml" \
    --curve-secret-key-file "$run/keys/broker.key_secret" --endpoint "$endpoint" --http off \
    2>"$run/broker.log" &
  pids=($!)
  for court in dexing wuyuan; do
    zone_agent_config "$court" "$endpoint" >"$run/$court.toml"
  done
  case $handler in
    builtin) printf '[responder]\nmode = "auto"\n' >>"$run/wuyuan.toml" ;;
    sh) printf '[handlers.ASSET_QUERY]\ncommand = ["%s"]\n' "$run/fixed.sh" >>"$run/wuyuan.toml" ;;
    register)
      printf '[handlers.ASSET_QUERY]\ncommand = ["/usr/bin/python3", "%s", "--register", "%s"]\n' \
        "$root/deploy/handlers/asset-register.py" "$root/deploy/handlers/register.csv" \
        >>"$run/wuyuan.toml"
      ;;
    *) echo "unknown handler $handler" >&2; exit 2 ;;
  esac
  for court in dexing wuyuan; do
    "$agent_bin" run -c "$run/$court.toml" 2>"$run/$court.log" &
    pids+=($!)
  done
  for court in dexing wuyuan; do
    for _ in $(seq 100); do
      cli "$court" status 2>/dev/null | grep -q " connected" && break
      sleep 0.1
    done
  done

  samples=()
  for _ in $(seq "$count"); do
    id=$(cli dexing submit -f "$root/deploy/stories/dexing-assets-wuyuan.json" | cut -d' ' -f1)
    for _ in $(seq 400); do
      cli dexing show "$id" | grep -q "state COMPLETED" && break
      sleep 0.02
    done
    ms=$(cli dexing show "$id" --json | completion_ms)
    if [ -z "$ms" ]; then
      echo "commission $id did not complete; see $run" >&2
      exit 1
    fi
    samples+=("$ms")
  done
  sorted=($(printf '%s\n' "${samples[@]}" | sort -n))
  n=${#sorted[@]}
  echo "{\"handler\":\"$handler\",\"count\":$n,\"median_ms\":${sorted[$((n / 2))]},\"p90_ms\":${sorted[$((n * 9 / 10))]},\"max_ms\":${sorted[$((n - 1))]}}"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done
