#!/usr/bin/env bash
# Installs the Debian packages Weituo builds and tests with, if any is
# missing. Needs root (or sudo) only when something must be installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  # the Python agent (agent/python/) and its test
  python3 python3-zmq python3-protobuf
  libzmq3-dev libsodium-dev cppzmq-dev
  libprotobuf-dev protobuf-compiler
  librocksdb-dev
  libboost-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  # deploy/tsan.sh: gcc-12's ThreadSanitizer runtime
  libtsan2
  # dashboard_test: a headless browser, and a CJK font for its screenshot
  chromium fonts-wqy-microhei
  # metrics_test: promtool checks the /metrics text (the server is not wanted)
  prometheus
  # the broker group (weituo-broker --group) and its tests: etcd on loopback
  # (the tests start their own member; the packaged service is not wanted)
  etcd-server etcd-client
  # the group's partition test: network namespaces and veth pairs (/usr/sbin/ip)
  iproute2
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian enables and starts the Prometheus server it has just installed:
# only its promtool is wanted, so stop the server (and, under systemd, disable it).
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus
  elif pgrep -x prometheus >/dev/null; then
    $sudo service prometheus stop
  fi
fi
# The same for etcd: the tests and deploy/quickstart.sh --group start their own.
if [[ " ${missing[*]} " == *" etcd-server "* ]]; then
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now etcd
  elif pgrep -x etcd >/dev/null; then
    $sudo service etcd stop || pkill -x etcd || true
  fi
fi
