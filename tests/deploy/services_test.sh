#!/usr/bin/env bash
# The service units are right: deploy/install-services.sh stages the broker,
# two courts' agents, their superiors' and the backup under a temporary root;
# then this runs each unit's own ExecStart line (systemd is not PID 1 here)
# and checks that a commission flows, that the backup unit backs up, that
# SIGTERM (the units' KillSignal) stops each process cleanly, and what the
# files on disk may be read by. Where systemd-analyze is present it also
# checks the units' syntax. As root (CI), the accounts are staged too
# (--accounts) and every process runs as its unit's User=, as systemd would
# run it: each court's agent as its own account, which reads its own key and
# no other court's, and whose control socket answers no other account, root
# included. Not as root, everything runs as the caller and that is not
# checked (said at the end).
#
#   tests/deploy/services_test.sh BUILD_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:?usage: services_test.sh BUILD_DIR}")
root=$(mktemp -d /tmp/weituo-services-XXXXXX)
accounts=0
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null && command -v setpriv >/dev/null
then
  accounts=1
  chmod 0755 "$root" # the services' accounts pass through it, as through /
fi
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
stage_accounts=()
[ $accounts -eq 1 ] && stage_accounts=(--accounts)
BUILD_DIR=$build "$src/deploy/install-services.sh" --root "$root" --no-build "${stage_accounts[@]}" \
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
for key in NoNewPrivileges=yes ProtectSystem=strict StateDirectory=weituo; do
  grep -q "^$key" "$units/weituo-broker.service" || fail "broker unit lacks $key"
  grep -q "^$key" "$units/weituo-agent@.service" || fail "agent unit lacks $key"
done
# The broker has its account; each court its own.
grep -qx "User=weituo" "$units/weituo-broker.service" || fail "broker unit does not run as weituo"
grep -qx "User=weituo-%i" "$units/weituo-agent@.service" ||
  fail "agent unit does not run as the court's own account weituo-%i"
for court in $courts; do
  grep -q "^u weituo-$court " "$root/etc/sysusers.d/weituo.conf" ||
    fail "etc/sysusers.d/weituo.conf lists no account for $court"
done

# The account a unit runs as (%i expanded), and "uid:gid" of an account.
unit_user() { sed -n 's/^User=//p' "$units/$1" | sed "s/%i/${2:-}/g"; }
ids_of() { awk -F: -v u="$1" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd"; }
# Runs a command as ACCOUNT (as the caller when accounts are not staged);
# exec_as in place of the shell, for a service started with `&`, so that $!
# is the service.
as() { (exec_as "$@"); }
exec_as() {
  local account=$1 ids
  shift
  [ $accounts -eq 0 ] && exec "$@"
  ids=$(ids_of "$account")
  [ -n "$ids" ] || fail "no staged account $account"
  exec setpriv --reuid="${ids%:*}" --regid="${ids#*:}" --clear-groups -- "$@"
}

read -r -a broker_cmd <<<"$(exec_start weituo-broker.service)"
exec_as "$(unit_user weituo-broker.service)" "${broker_cmd[@]}" 2>"$root/broker.log" &
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
  exec_as "$(unit_user weituo-agent@.service "$court")" "${agent_cmd[@]}" 2>"$root/$court.log" &
  pids+=($!)
  agent_pid[$court]=$!
done
agent=$root/usr/local/bin/weituo-agent
# The court's clerk: weituo-agent as the court's own account.
clerk() {
  local court=$1
  shift
  as "weituo-$court" "$agent" "$@" -c "$conf/agent/$court.toml"
}
for court in $courts; do
  for _ in $(seq 100); do
    clerk "$court" status 2>/dev/null | grep -q " connected" && break
    sleep 0.1
  done
  clerk "$court" status | grep -q " connected" || fail "$court not connected"
done

out=$(clerk chunan submit -f "$src/deploy/stories/chunan-locate-kaihua.json")
id=${out%% *}
for _ in $(seq 100); do
  clerk kaihua inbox | grep -q "$id" && break
  sleep 0.1
done
clerk kaihua inbox | grep -q "$id" || fail "commission $id not delivered"

read -r -a backup_cmd <<<"$(exec_start weituo-backup.service)"
backup=$(as "$(unit_user weituo-backup.service)" "${backup_cmd[@]}") ||
  fail "the backup unit failed: $backup"
case "$backup" in "backed up to $root/var/lib/weituo/broker/backups/store-"*) ;;
  *) fail "the backup unit said: $backup" ;; esac

# Secrets and state are the service's alone.
mode() { stat -c %a "$1"; }
[ "$(mode "$conf/keys")" = 755 ] || fail "keys folder is $(mode "$conf/keys")"
for key in broker $courts; do
  [ "$(mode "$conf/keys/$key.key_secret")" = 600 ] || fail "$key's secret key readable by others"
done
[ "$(mode "$root/var/lib/weituo/broker/store")" = 700 ] || fail "store folder is open"
[ "$(mode "$root/var/lib/weituo/broker/store/admin.token")" = 600 ] || fail "admin token open"
[ "$(mode "$root/var/lib/weituo/broker/store/read.token")" = 600 ] || fail "read token open"
[ "$(mode "$root/var/lib/weituo/broker/backups")" = 700 ] || fail "backups folder is open"

if [ $accounts -eq 1 ]; then
  # Each secret key is its own account's, and no other account reads it.
  owner() { stat -c %u:%g "$1"; }
  [ "$(owner "$conf/keys/broker.key_secret")" = "$(ids_of weituo)" ] ||
    fail "the broker's secret key is not weituo's"
  for court in $courts; do
    [ "$(owner "$conf/keys/$court.key_secret")" = "$(ids_of "weituo-$court")" ] ||
      fail "$court's secret key is not weituo-$court's"
    [ "$(owner "$root/var/lib/weituo/agent/$court")" = "$(ids_of "weituo-$court")" ] ||
      fail "$court's state folder is not weituo-$court's"
  done
  can_read() { as "$1" cat "$2" >/dev/null 2>&1; }
  can_read weituo-kaihua "$conf/keys/kaihua.key_secret" || fail "kaihua cannot read its own key"
  for file in keys/kaihua.key_secret agent/kaihua.toml; do
    for other in weituo-chunan weituo-quzhou-intermediate weituo; do
      can_read "$other" "$conf/$file" && fail "$other can read $file"
    done
  done
  for file in "$conf/keys/broker.key_secret" "$root/var/lib/weituo/broker/store/admin.token"; do
    can_read weituo-kaihua "$file" && fail "kaihua's account can read $file"
  done
  as weituo-chunan ls "$root/var/lib/weituo/agent/kaihua" >/dev/null 2>&1 &&
    fail "chunan's account can look into kaihua's state folder"
  # Kaihua's agent answers Kaihua's account only: root is refused by it.
  refused=$("$agent" inbox -c "$conf/agent/kaihua.toml" 2>&1) &&
    fail "root's inbox of kaihua was answered: $refused"
  case "$refused" in *"PERMISSION_DENIED: this agent answers only its own account"*) ;;
    *) fail "root's inbox of kaihua: $refused" ;; esac
  clerk kaihua status | grep -q "control_refused_uid 1" || fail "the refusal was not counted"
fi

# SIGTERM, as systemctl stop sends: each exits 0 well inside TimeoutStopSec.
for court in $courts; do kill -TERM "${agent_pid[$court]}"; done
kill -TERM "$broker_pid"
for pid in "${agent_pid[@]}" "$broker_pid"; do
  timeout 30 tail --pid="$pid" -f /dev/null || fail "process $pid did not stop on SIGTERM"
  wait "$pid" || fail "process $pid exited with $? on SIGTERM"
done
pids=()
if [ $accounts -eq 1 ]; then
  separation="each service ran as its own account; no court reads another's key"
else
  separation="NOT CHECKED (needs root, systemd-sysusers and setpriv): the per-court accounts"
fi
echo "PASS: units installed, started from their ExecStart lines, a commission delivered," \
  "backed up, stopped cleanly; $separation"
