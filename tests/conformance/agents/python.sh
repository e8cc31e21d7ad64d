#!/usr/bin/env bash
# Conformance adapter for the Python agent (agent/python/); see ../README.md.
#   python.sh run    COURT ENDPOINT KEYDIR WORKDIR        serves, answering everything
#   python.sh submit COURT ENDPOINT KEYDIR WORKDIR FILE   queues a commission
# PYTHONPATH must hold the schema's generated modules.
set -euo pipefail
verb=$1 court=$2 endpoint=$3 keys=$4 work=$5
src=$(cd "$(dirname "$0")/../../.." && pwd)
export PYTHONPATH=${PYTHONPATH:?the schema modules}:$src/agent/python
common=(--court "$court" --endpoint "$endpoint" --db "$work/$court.db"
  --key "$keys/$court.key_secret" --broker-key "$keys/broker.key")
case "$verb" in
  run)
    exec /usr/bin/python3 "$src/agent/python/court.py" "${common[@]}" --answer conformance \
      --result-file "$src/deploy/stories/kaihua-locate-result.json" ;;
  submit)
    exec /usr/bin/python3 "$src/agent/python/court.py" "${common[@]}" --submit "$6" --queue-only ;;
  *) echo "python.sh: unknown verb $verb" >&2; exit 2 ;;
esac
