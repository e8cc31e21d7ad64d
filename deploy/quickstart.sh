#!/usr/bin/env bash
# Quick start: installs what is missing, builds, starts a broker and the
# agents of the zone's eight courts on loopback, and plays the zone's two
# stories through the courts' command line:
#   1. Chun'an asks the court of the debtor's registered residence (region
#      code 330824, which the broker resolves to Kaihua) to locate a debtor;
#   2. Kaihua asks Shexian to seize a vehicle.
# In both a clerk's commands accept with a named handler, report progress and
# complete with a typed result.
#   3. Dexing asks the court of the debtor's registered residence (361130,
#      Wuyuan) what assets the debtor has. Nobody types anything: Wuyuan's
#      agent hands asset queries to a script (deploy/handlers/asset-register.py)
#      that answers from the court's CSV register (deploy/handlers/register.csv),
#      configured in its agent's [handlers.ASSET_QUERY].
# The script prints each commission's trail, the time from submission to the
# automatic result, and the zone's supervision statistics. The four superior courts run agents too:
# they receive escalations of late commissions (deploy/zone/deadlines.toml).
# Everything runs encrypted: the script makes CURVE keys for the broker and
# each court (weituoctl keygen) and lists the courts' public keys in the
# broker's copy of the directory.
#
# Usage: deploy/quickstart.sh [--once] [--group]
#   --once   exit after the stories: status 0 only if all three completed.
#   --group  a broker group instead of one broker (docs/group.md): etcd and
#            three brokers on loopback, the courts' agents with all three in
#            their broker list; the leader is killed (SIGKILL) after the
#            first story and started again, and the other stories go on
#            with the leader etcd elects next.
# Without --once it keeps the zone running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
once=0
group=0
for arg in "$@"; do
  case $arg in
    --once) once=1 ;;
    --group) group=1 ;;
    *) echo "usage: deploy/quickstart.sh [--once] [--group]" >&2; exit 2 ;;
  esac
done

deploy/install-deps.sh
echo "== building"
deploy/build.sh weituo-broker weituo-agent weituoctl
broker_bin=$root/build/broker/weituo-broker
ctl_bin=$root/build/broker/weituoctl
agent_bin=$root/build/agent/weituo-agent

run=$(mktemp -d /tmp/weituo-quickstart-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${WEITUO_KEEP:-}" ] || rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A loopback port nobody answers on.
free_port() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
zmq_port=$(free_port 5555)
http_port=$(free_port 8080)
[ "$http_port" = "$zmq_port" ] && http_port=$(free_port $((zmq_port + 1)))
endpoint="tcp://127.0.0.1:$zmq_port"

. "$root/deploy/lib/zone-keys.sh"
courts=("${ZONE_COURTS[@]}")
supervisors=("${ZONE_SUPERVISORS[@]}")
echo "== making CURVE keys for the broker, the eight courts and their four superiors in $run/keys"
cp "$root/deploy/zone/courts.toml" "$run/courts.toml"
make_zone_keys "$ctl_bin" "$run/keys" "$run/courts.toml" "${courts[@]}" "${supervisors[@]}"

# wait_for_file_line FILE TEXT: up to 10 s for TEXT to appear in FILE.
wait_for_line() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$1"
  return 1
}

if [ $group -eq 0 ]; then
  echo "== starting the broker on $endpoint, encrypted (data in $run)"
  "$broker_bin" --data-dir "$run/broker" --directory "$run/courts.toml" \
    --curve-secret-key-file "$run/keys/broker.key_secret" \
    --deadlines "$root/deploy/zone/deadlines.toml" \
    --endpoint "$endpoint" --http "127.0.0.1:$http_port" 2>"$run/broker.log" &
  pids+=($!)
  wait_for_line "$run/broker.log" "broker listening"
  read_token=$run/broker/read.token
  admin_token=$run/broker/admin.token
  agents_broker=$endpoint
else
  . "$root/deploy/lib/group.sh"
  start_group
  agents_broker=$group_endpoints
fi
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null && break
  sleep 0.1
done
dashboard="http://127.0.0.1:$http_port/#token=$(cat "$read_token")"
echo "== broker ready. Dashboard: $dashboard"

echo "== starting the agents of ${courts[*]} and ${supervisors[*]}"
for court in "${courts[@]}" "${supervisors[@]}"; do
  zone_agent_config "$court" "$agents_broker" >"$run/$court.toml"
  if [ "$court" = wuyuan ]; then
    cat >>"$run/$court.toml" <<TOML
# Asset queries are answered by the court's register, with no human step.
[handlers.ASSET_QUERY]
name = "婺源县人民法院 财产登记自动应答"
command = ["/usr/bin/python3", "$root/deploy/handlers/asset-register.py",
           "--register", "$root/deploy/handlers/register.csv"]
timeout_ms = 10000
TOML
  fi
  "$agent_bin" run -c "$run/$court.toml" 2>"$run/$court.log" &
  pids+=($!)
done
for court in "${courts[@]}" "${supervisors[@]}"; do
  for _ in $(seq 100); do
    "$agent_bin" status -c "$run/$court.toml" 2>/dev/null | grep -q " connected" && break
    sleep 0.1
  done
done

cli() { local court=$1; shift; "$agent_bin" "$@" -c "$run/$court.toml"; }
expected=$(date -u -d '+7 days' +%F)

# wait_completed COURT ID: up to 10 s for COURT to see ID completed.
wait_completed() {
  for _ in $(seq 100); do
    cli "$1" show "$2" | grep -q "state COMPLETED" && return 0
    sleep 0.1
  done
}

# play ORIGIN TARGET COMMISSION_FILE RESULT_FILE HANDLER PROGRESS_TEXT
play() {
  local origin=$1 target=$2 file=$3 result=$4 handler=$5 text=$6 out id
  echo
  echo "== $origin submits $(basename "$file")"
  out=$(cli "$origin" submit -f "$root/deploy/stories/$file")
  echo "$out"
  id=${out%% *}
  for _ in $(seq 50); do
    cli "$target" inbox | grep -q "$id" && break
    sleep 0.1
  done
  echo "== $target acts on it"
  cli "$target" accept "$id" --handler "$handler" --expected "$expected"
  cli "$target" progress "$id" --text "$text"
  cli "$target" complete "$id" --result-file "$root/deploy/stories/$result"
  wait_completed "$origin" "$id"
  echo "== trail at $origin"
  cli "$origin" show "$id"
  cli "$origin" show "$id" | grep -q "state COMPLETED"
}

ok=0
play chunan kaihua chunan-locate-kaihua.json kaihua-locate-result.json \
  "开化县人民法院 执行局 李明" "visited the registered residence; debtor found at the market" || ok=1
if [ $group -eq 1 ]; then
  kill_leader  # deploy/lib/group.sh: SIGKILL, started again as a follower
fi
play kaihua shexian kaihua-seize-shexian.json shexian-seizure-result.json \
  "歙县人民法院 执行局 汪强" "vehicle located on the road in Huicheng town" || ok=1

# automatic ORIGIN TARGET COMMISSION_FILE: nobody acts at the target.
automatic() {
  local origin=$1 target=$2 file=$3 out id ms
  echo
  echo "== $origin submits $(basename "$file"); $target's register script answers it"
  out=$(cli "$origin" submit -f "$root/deploy/stories/$file")
  echo "$out"
  id=${out%% *}
  wait_completed "$origin" "$id"
  echo "== trail at $origin"
  cli "$origin" show "$id"
  echo "== at $target"
  cli "$target" show "$id" | grep "^  handler "
  cli "$origin" show "$id" | grep -q "state COMPLETED" || return 1
  ms=$(cli "$origin" show "$id" --json | completion_ms)
  [ -n "$ms" ] && echo "== answered automatically $ms ms after submission"
  return 0
}
automatic dexing wuyuan dexing-assets-wuyuan.json || ok=1

if [ $group -eq 1 ]; then
  echo
  echo "== the group (weituoctl cluster)"
  "$ctl_bin" cluster "${cluster_urls[@]}" || ok=1
  wait_leader
fi
echo
echo "== supervision statistics (weituoctl stats)"
"$ctl_bin" --url "http://127.0.0.1:$http_port" --token-file "$read_token" stats || ok=1
echo
if [ $ok -eq 0 ]; then echo "== all three stories completed"; else echo "== a story did not complete"; fi
echo "Dashboard: $dashboard"
echo "  (reads need the operator's read token, in $read_token: the page keeps it"
echo "  for its tab, and a #fragment never reaches the server)"
echo "Operator's shell: $ctl_bin --url http://127.0.0.1:$http_port --token-file $read_token courts"
echo "  (actions such as pause need --token-file $admin_token)"
if [ $group -eq 1 ]; then
  echo "The group: $ctl_bin cluster ${cluster_urls[*]}"
  echo "  (each member's dashboard and read API answer at its own address, from its own"
  echo "  replica; actions go to the leader:"
  echo "  ${member_http[*]})"
fi
if [ $once -eq 1 ]; then
  exit $ok
fi
echo "The zone keeps running; configs and logs are in $run. Press Ctrl-C to stop."
wait
