#!/usr/bin/env bash
# The service units are right: deploy/install-services.sh stages the broker,
# two courts' agents, their superiors' and the backup under a temporary root;
# then this runs each unit's own ExecStart line (systemd is not PID 1 here)
# and checks that a commission flows, that the backup unit backs up, that
# SIGTERM (the units' KillSignal) stops each process cleanly, and what the
# files on disk may be read by. Where systemd-analyze is present it also
# checks the units' syntax.
#
#   tests/deploy/services_test.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:?usage: services_test.sh BUILD_DIR}")
root=$(mktemp -d /tmp/weituo-services-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$root"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for log in "$root"/*.log; do echo "--- $log" >&2; tail -20 "$log" >&2; done
  exit 1
}

# A port nothing answers on, from a random start.
free_port() {
  local p=$((20000 + RANDOM % 30000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
zmq_port=$(free_port)
http_port=$(free_port)
[ "$http_port" = "$zmq_port" ] && http_port=$((zmq_port + 1))
courts="kaihua chunan quzhou-intermediate hangzhou-intermediate"
BUILD_DIR=$build "$src/deploy/install-services.sh" --root "$root" --no-build \
  --endpoint "tcp://127.0.0.1:$zmq_port" --http "127.0.0.1:$http_port" --courts "$courts" \
  >"$root/install.log"
units=$root/etc/systemd/system
conf=$root/etc/weituo

# The example configs in deploy/etc/weituo are what the script writes for
# the default paths and addresses, byte for byte.
defaults=$root/defaults
BUILD_DIR=$build "$src/deploy/install-services.sh" --root "$defaults" --no-build >/dev/null
for f in "$src"/deploy/etc/weituo/broker.toml "$src"/deploy/etc/weituo/agent/*.toml; do
  rel=${f#"$src"/deploy/etc/weituo/}
  sed "s#$defaults##g" "$defaults/etc/weituo/$rel" | cmp -s - "$f" ||
    fail "deploy/etc/weituo/$rel differs from what install-services.sh writes"
done
[ "$(ls "$defaults/etc/weituo/agent" | wc -l)" = "$(ls "$src/deploy/etc/weituo/agent" | wc -l)" ] ||
  fail "deploy/etc/weituo/agent does not have a config for every court"
for f in weituo-broker.service weituo-agent@.service weituo-backup.service weituo-backup.timer; do
  [ -f "$units/$f" ] || fail "install-services.sh did not install $f"
done
grep -q '@[A-Z]*@' "$units"/* && fail "a placeholder was left in a unit: $(grep -l '@[A-Z]*@' "$units"/*)"

if command -v systemd-analyze >/dev/null; then
  # The agent's template is checked as one instance of it.
  cp "$units/weituo-agent@.service" "$units/weituo-agent@kaihua.service"
  out=$(systemd-analyze verify "$units/weituo-broker.service" "$units/weituo-agent@kaihua.service" \
    "$units/weituo-backup.service" "$units/weituo-backup.timer" 2>&1) ||
    fail "systemd-analyze verify: $out"
  # It warns (and ignores the line) on a value it cannot parse.
  echo "$out" | grep -q "Failed to parse\|Unknown key" && fail "systemd-analyze verify: $out"
  rm "$units/weituo-agent@kaihua.service"
else
  echo "systemd-analyze is not here: the units' syntax is not checked"
fi

# The command line of a unit, %i expanded, as systemd would run it.
exec_start() {
  local unit=$1 instance=${2:-}
  sed -n 's/^ExecStart=//p' "$units/$unit" | sed "s/%i/$instance/g"
}
for key in NoNewPrivileges=yes ProtectSystem=strict User=weituo StateDirectory=weituo; do
  grep -q "^$key" "$units/weituo-broker.service" || fail "broker unit lacks $key"
  grep -q "^$key" "$units/weituo-agent@.service" || fail "agent unit lacks $key"
done

read -r -a broker_cmd <<<"$(exec_start weituo-broker.service)"
"${broker_cmd[@]}" 2>"$root/broker.log" &
pids+=($!)
broker_pid=$!
ctl() {
  "$root/usr/local/bin/weituoctl" --url "http://127.0.0.1:$http_port" \
    --token-file "$root/var/lib/weituo/broker/store/read.token" "$@"
}
for _ in $(seq 100); do
  ctl status >/dev/null 2>&1 && break
  sleep 0.1
done
ctl status >/dev/null || fail "the broker's unit did not start it"

declare -A agent_pid
for court in $courts; do
  read -r -a agent_cmd <<<"$(exec_start weituo-agent@.service "$court")"
  "${agent_cmd[@]}" 2>"$root/$court.log" &
  pids+=($!)
  agent_pid[$court]=$!
done
agent=$root/usr/local/bin/weituo-agent
for court in $courts; do
  for _ in $(seq 100); do
    "$agent" status -c "$conf/agent/$court.toml" 2>/dev/null | grep -q " connected" && break
    sleep 0.1
  done
  "$agent" status -c "$conf/agent/$court.toml" | grep -q " connected" || fail "$court not connected"
done

out=$("$agent" submit -f "$src/deploy/stories/chunan-locate-kaihua.json" -c "$conf/agent/chunan.toml")
id=${out%% *}
for _ in $(seq 100); do
  "$agent" inbox -c "$conf/agent/kaihua.toml" | grep -q "$id" && break
  sleep 0.1
done
"$agent" inbox -c "$conf/agent/kaihua.toml" | grep -q "$id" || fail "commission $id not delivered"

read -r -a backup_cmd <<<"$(exec_start weituo-backup.service)"
backup=$("${backup_cmd[@]}") || fail "the backup unit failed: $backup"
case "$backup" in "backed up to $root/var/lib/weituo/broker/backups/store-"*) ;;
  *) fail "the backup unit said: $backup" ;; esac

# Secrets and state are the service's alone.
mode() { stat -c %a "$1"; }
[ "$(mode "$conf/keys")" = 750 ] || fail "keys folder is $(mode "$conf/keys")"
[ "$(mode "$conf/keys/broker.key_secret")" = 600 ] || fail "broker secret key readable by others"
[ "$(mode "$root/var/lib/weituo/broker/store")" = 700 ] || fail "store folder is open"
[ "$(mode "$root/var/lib/weituo/broker/store/admin.token")" = 600 ] || fail "admin token open"
[ "$(mode "$root/var/lib/weituo/broker/store/read.token")" = 600 ] || fail "read token open"
[ "$(mode "$root/var/lib/weituo/broker/backups")" = 700 ] || fail "backups folder is open"

# SIGTERM, as systemctl stop sends: each exits 0 well inside TimeoutStopSec.
for court in $courts; do kill -TERM "${agent_pid[$court]}"; done
kill -TERM "$broker_pid"
for pid in "${agent_pid[@]}" "$broker_pid"; do
  timeout 30 tail --pid="$pid" -f /dev/null || fail "process $pid did not stop on SIGTERM"
  wait "$pid" || fail "process $pid exited with $? on SIGTERM"
done
pids=()
echo "PASS: units installed, started from their ExecStart lines, a commission delivered," \
  "backed up, stopped cleanly"
