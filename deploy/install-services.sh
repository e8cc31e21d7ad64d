#!/usr/bin/env bash
# Installs Weituo as system services: the broker, an agent per court, and a
# daily backup, under systemd, hardened (see docs/operations.md).
#
#   deploy/install-services.sh [--root DIR [--accounts | --owners]] [--prefix /usr/local]
#       [--endpoint tcp://127.0.0.1:5555] [--http 127.0.0.1:8080]
#       [--courts "kaihua chunan ..."] [--no-build] [--start]
#
# It builds (unless --no-build), then installs:
#   PREFIX/bin/weituo-broker, weituo-agent, weituoctl
#   /etc/weituo/broker.toml, courts.toml (with the courts' public keys),
#     deadlines.toml, keys/ (CURVE pairs, made if missing), agent/<court>.toml
#   /etc/systemd/system/weituo-broker.service, weituo-agent@.service,
#     weituo-backup.service and .timer
#   /etc/sysusers.d/weituo.conf, and the accounts it lists if missing: 'weituo'
#     for the broker and its backup, and one per court, 'weituo-<court>', for
#     that court's agent and handlers
# Each account owns its own secret key (0600), state folder (0700) and reads
# its own config (0640 root:<account>): one court's agent or handler cannot
# read another court's key or the broker's. All of it under --root DIR if
# given (a staging folder: then every path in the files names DIR too, no
# account is made and systemd is not told), so the result can be inspected
# or run without systemd, as tests/deploy does; with --accounts as well (as
# root) the accounts are made in DIR/etc/passwd and DIR/etc/group
# (systemd-sysusers --root) and the files given to them, as on a real host;
# with --owners instead (as root) the files under DIR are given to the
# accounts of those names that already exist on this host (the container
# image makes them, with fixed uids, so that each service of the compose file
# runs as its own).
# With --start (root / only) it enables and starts the services.
#
# The zone's eight courts and their four superiors run on this host by
# default, each with a key made here. A court elsewhere makes its own key
# (weituoctl keygen --court ID) and sends only the public half.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

root="" prefix=/usr/local endpoint=tcp://127.0.0.1:5555 http=127.0.0.1:8080
build=1 start=0 courts="" accounts=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$(realpath -m "$2"); shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --endpoint) endpoint=$2; shift 2 ;;
    --http) http=$2; shift 2 ;;
    --courts) courts=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --start) start=1; shift ;;
    --accounts) accounts=1; shift ;;
    --owners) accounts=2; shift ;;
    *) echo "install-services.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done
if [ -n "$root" ] && [ $start -eq 1 ]; then
  echo "install-services.sh: --start installs into / only, not into --root" >&2
  exit 2
fi
if [ $accounts -ne 0 ] && { [ -z "$root" ] || [ "$(id -u)" -ne 0 ]; }; then
  echo "install-services.sh: --accounts and --owners stage under --root DIR, as root" \
    "(an install into / always makes the accounts)" >&2
  exit 2
fi

. "$src/deploy/lib/zone-keys.sh"
if [ -z "$courts" ]; then
  courts="${ZONE_COURTS[*]} ${ZONE_SUPERVISORS[*]}"
fi
# The accounts: the broker's, and one per court (its agent and handlers).
broker_user=weituo
court_user() { echo "weituo-$1"; }
for court in $courts; do
  # systemd and useradd take at most 31 characters.
  if [ ${#court} -gt 24 ]; then
    echo "install-services.sh: court id '$court' is too long for its account" \
      "'$(court_user "$court")' (at most 24 characters, 31 for the account)" >&2
    exit 2
  fi
done

if [ $build -eq 1 ]; then
  deploy/install-deps.sh
  deploy/build.sh weituo-broker weituo-agent weituoctl
fi
bin=$root$prefix/bin conf=$root/etc/weituo state=$root/var/lib/weituo
doc=$root$prefix/share/doc/weituo units=$root/etc/systemd/system

echo "== binaries in $bin"
install -d -m 0755 "$bin" "$doc" "$units"
for b in broker/weituo-broker agent/weituo-agent broker/weituoctl; do
  install -m 0755 "${BUILD_DIR:-build}/$b" "$bin/"
done
install -m 0644 docs/operations.md "$doc/"

echo "== configuration in $conf"
install -d -m 0755 "$conf" "$conf/agent"
install -d -m 0755 "$conf/keys"  # the secret keys in it are 0600, each its account's
[ -f "$conf/courts.toml" ] || install -m 0644 deploy/zone/courts.toml "$conf/courts.toml"
[ -f "$conf/deadlines.toml" ] || install -m 0644 deploy/zone/deadlines.toml "$conf/deadlines.toml"
# shellcheck disable=SC2086
make_zone_keys "$bin/weituoctl" "$conf/keys" "$conf/courts.toml" $courts
if [ ! -f "$conf/broker.toml" ]; then
  cat >"$conf/broker.toml" <<TOML
# weituo-broker --config $conf/broker.toml; flags on the command line win.
# Keys are the long flags with _ (weituo-broker --help).
endpoint = "$endpoint"
http = "$http"
data_dir = "$state/broker/store"
backup_dir = "$state/broker/backups"
directory = "$conf/courts.toml"
deadlines = "$conf/deadlines.toml"
curve_secret_key_file = "$conf/keys/broker.key_secret"
TOML
fi
connect=${endpoint/0.0.0.0/127.0.0.1}
for court in $courts; do
  [ -f "$conf/agent/$court.toml" ] && continue
  cat >"$conf/agent/$court.toml" <<TOML
# weituo-agent run -c $conf/agent/$court.toml (unit weituo-agent@$court),
# as the account $(court_user "$court"); so do the clerk's commands:
#   runuser -u $(court_user "$court") -- weituo-agent inbox -c $conf/agent/$court.toml
court_id = "$court"
broker = "$connect"
data_dir = "$state/agent/$court"
curve_secret_key_file = "$conf/keys/$court.key_secret"
broker_public_key_file = "$conf/keys/broker.key"
TOML
done

echo "== units in $units"
for unit in deploy/systemd/*.service deploy/systemd/*.timer; do
  sed -e "s#@BIN@#$bin#g" -e "s#@CONF@#$conf#g" -e "s#@STATE@#$state#g" \
    -e "s#@DOC@#$doc#g" -e "s#@HTTP@#$http#g" "$unit" >"$units/$(basename "$unit")"
done
install -d -m 0755 "$root/etc/sysusers.d"
{
  cat deploy/systemd/weituo.sysusers
  for court in $courts; do
    echo "u $(court_user "$court") - \"Weituo agent of court $court\" /var/lib/weituo/agent/$court /usr/sbin/nologin"
  done
} >"$root/etc/sysusers.d/weituo.conf"
chmod 0644 "$root/etc/sysusers.d/weituo.conf"

if [ -n "$root" ] && [ $accounts -eq 0 ]; then
  echo "== staged under $root (no account made, systemd not told)"
  exit 0
fi
if [ $accounts -eq 2 ]; then
  : # the accounts are this host's: ids_of finds them
elif [ -n "$root" ]; then
  install -d -m 0755 "$root/etc"
  if ! made=$(systemd-sysusers --root "$root" "$root/etc/sysusers.d/weituo.conf" 2>&1); then
    echo "$made" >&2
    exit 1
  fi
elif command -v systemd-sysusers >/dev/null; then
  systemd-sysusers /etc/sysusers.d/weituo.conf
else
  for user in $broker_user $(for court in $courts; do court_user "$court"; done); do
    id "$user" >/dev/null 2>&1 && continue
    home=/var/lib/weituo
    [ "$user" = "$broker_user" ] || home=/var/lib/weituo/agent/${user#weituo-}
    useradd --system --user-group --home-dir "$home" --shell /usr/sbin/nologin "$user"
  done
fi
# "uid:gid" of an account: the staged one's under --root, else this host's.
ids_of() {
  local entry
  if [ -n "$root" ] && [ $accounts -eq 1 ]; then
    entry=$(awk -F: -v u="$1" '$1 == u { print $3 ":" $4 }' "$root/etc/passwd")
  elif id "$1" >/dev/null 2>&1; then
    entry="$(id -u "$1"):$(id -g "$1")"
  fi
  [ -n "$entry" ] || { echo "install-services.sh: no account $1" >&2; exit 1; }
  echo "$entry"
}
# Each service reads only its own secret key (0600: the agents and the
# broker refuse anything wider) and config; the folders stay root's, open
# to pass through, and the public keys are for all.
give() { # ACCOUNT MODE FILE...
  local owner mode=$2
  owner=$(ids_of "$1")
  shift 2
  chown "$owner" "$@"
  chmod "$mode" "$@"
}
chown root:root "$conf" "$conf/agent" "$conf/keys"
chmod 0755 "$conf" "$conf/agent" "$conf/keys"
chmod 0644 "$conf/keys"/*.key "$conf/courts.toml" "$conf/deadlines.toml"
give $broker_user 0600 "$conf/keys/broker.key_secret"
owner=$(ids_of $broker_user)
chown "root:${owner#*:}" "$conf/broker.toml"
chmod 0640 "$conf/broker.toml"
# systemd makes the state folders (StateDirectory=); without it, they are
# made here, each its account's alone; a store made by an earlier install's
# shared account is handed over whole.
install -d "$state" "$state/agent" "$state/broker"
chown root:root "$state" "$state/agent"
chmod 0755 "$state" "$state/agent"
chown -R "$owner" "$state/broker"
chmod 0700 "$state/broker"
for court in $courts; do
  user=$(court_user "$court")
  give "$user" 0600 "$conf/keys/$court.key_secret"
  owner=$(ids_of "$user")
  chown "root:${owner#*:}" "$conf/agent/$court.toml"
  chmod 0640 "$conf/agent/$court.toml"
  install -d "$state/agent/$court"
  chown -R "$owner" "$state/agent/$court"
  chmod 0700 "$state/agent/$court"
done
if [ -n "$root" ]; then
  echo "== staged under $root with its accounts (systemd not told)"
  exit 0
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if [ $start -eq 1 ]; then
    systemctl enable --now weituo-broker.service weituo-backup.timer
    for court in $courts; do systemctl enable --now "weituo-agent@$court.service"; done
  fi
  echo "== installed. Start: systemctl enable --now weituo-broker weituo-backup.timer" \
    "weituo-agent@<court>"
else
  echo "== installed; this machine does not run systemd: start the units' ExecStart lines" \
    "yourself (docs/operations.md)"
fi
