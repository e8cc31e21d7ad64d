#!/usr/bin/env bash
# Conformance adapter for the stock C++ agent (weituo-agent); see ../README.md.
#   cpp.sh run    COURT ENDPOINT KEYDIR WORKDIR        serves, answering everything
#   cpp.sh submit COURT ENDPOINT KEYDIR WORKDIR FILE   queues a commission
set -euo pipefail
verb=$1 court=$2 endpoint=$3 keys=$4 work=$5
agent=${WEITUO_AGENT_BIN:?WEITUO_AGENT_BIN names weituo-agent}
config=$work/$court.toml
case "$verb" in
  run)
    cat >"$config" <<TOML
court_id = "$court"
broker = "$endpoint"
data_dir = "$work/$court-data"
curve_secret_key_file = "$keys/$court.key_secret"
broker_public_key_file = "$keys/broker.key"
[responder]
mode = "auto"
TOML
    exec "$agent" run -c "$config" ;;
  submit)
    # Queued is enough: exit 4 (no receipt yet) and 1 (already refused by
    # the broker) count too; the scenario sees the rest on the wire.
    rc=0
    "$agent" submit -c "$config" -f "$6" --wait 0 || rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 1 ] || [ $rc -eq 4 ] ;;
  *) echo "cpp.sh: unknown verb $verb" >&2; exit 2 ;;
esac
