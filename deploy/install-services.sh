#!/usr/bin/env bash
# Installs Weituo as system services: the broker, an agent per court, and a
# daily backup, under systemd, hardened (see docs/operations.md).
#
#   deploy/install-services.sh [--root DIR] [--prefix /usr/local]
#       [--endpoint tcp://127.0.0.1:5555] [--http 127.0.0.1:8080]
#       [--courts "kaihua chunan ..."] [--no-build] [--start]
#
# It builds (unless --no-build), then installs:
#   PREFIX/bin/weituo-broker, weituo-agent, weituoctl
#   /etc/weituo/broker.toml, courts.toml (with the courts' public keys),
#     deadlines.toml, keys/ (CURVE pairs, made if missing), agent/<court>.toml
#   /etc/systemd/system/weituo-broker.service, weituo-agent@.service,
#     weituo-backup.service and .timer
#   /etc/sysusers.d/weituo.conf, and the account 'weituo' if it is missing
# All of it under --root DIR if given (a staging folder: then every path in
# the files names DIR too, no account is made and systemd is not told), so
# the result can be inspected or run without systemd, as tests/deploy does.
# With --start (root / only) it enables and starts the services.
#
# The zone's eight courts and their four superiors run on this host by
# default, each with a key made here. A court elsewhere makes its own key
# (weituoctl keygen --court ID) and sends only the public half.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

root="" prefix=/usr/local endpoint=tcp://127.0.0.1:5555 http=127.0.0.1:8080
build=1 start=0 courts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$(realpath -m "$2"); shift 2 ;;
    --prefix) prefix=$2; shift 2 ;;
    --endpoint) endpoint=$2; shift 2 ;;
    --http) http=$2; shift 2 ;;
    --courts) courts=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --start) start=1; shift ;;
    *) echo "install-services.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done
if [ -n "$root" ] && [ $start -eq 1 ]; then
  echo "install-services.sh: --start installs into / only, not into --root" >&2
  exit 2
fi

. "$src/deploy/lib/zone-keys.sh"
if [ -z "$courts" ]; then
  courts="${ZONE_COURTS[*]} ${ZONE_SUPERVISORS[*]}"
fi

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
install -d -m 0750 "$conf/keys"
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
# weituo-agent run -c $conf/agent/$court.toml (unit weituo-agent@$court)
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
install -m 0644 deploy/systemd/weituo.sysusers "$root/etc/sysusers.d/weituo.conf"

if [ -n "$root" ]; then
  echo "== staged under $root (no account made, systemd not told)"
  exit 0
fi
if ! id weituo >/dev/null 2>&1; then
  if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers /etc/sysusers.d/weituo.conf
  else
    useradd --system --home-dir /var/lib/weituo --shell /usr/sbin/nologin weituo
  fi
fi
# The services read their keys. A secret key file must be its reader's
# alone (mode 0600: the agents and the broker refuse anything wider), so the
# secret halves belong to weituo; the folder stays root's.
chgrp weituo "$conf/keys"
chown weituo:weituo "$conf/keys"/*.key_secret
chmod 0600 "$conf/keys"/*.key_secret
# systemd makes the state folders (StateDirectory=); without it, they are
# made here, the service account's alone.
install -d -o weituo -g weituo -m 0700 "$state" "$state/broker" "$state/agent"
for court in $courts; do install -d -o weituo -g weituo -m 0700 "$state/agent/$court"; done
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
