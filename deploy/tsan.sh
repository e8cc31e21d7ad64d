#!/usr/bin/env bash
# Builds the broker, the agent and their tests under ThreadSanitizer into
# build-tsan/ and runs those test programs once through ctest. Every process
# they start (weituo-broker, weituo-agent, weituoctl) is instrumented too, and
# each one's reports go to build-tsan/tsan-reports/. Exits non-zero if any
# test fails or anything at all is reported; deploy/tsan.supp holds the only
# suppressions (Debian's uninstrumented libraries, each with its reason).
# Usage: deploy/tsan.sh [ctest label regex]   (default: the programs below)
set -euo pipefail
cd "$(dirname "$0")/.."

# The test programs of the broker and the agent (ctest labels, one per
# program). Left out: security_test, whose timing bounds (a flood under way
# within 10 s, receipts within 250 ms during it, an agent online within
# 10 s) do not hold at TSan's slowdown; it runs uninstrumented in ctest.
programs=(common_test broker_test agent_test control_server_test agent_store_test
  peer_credentials_test handler_answer_test handler_output_test
  operator_test delivery_test stories_test handlers_test http_access_test)
labels="${1:-^($(IFS='|'; echo "${programs[*]}"))\$}"

# -O1: a third less compile time than RelWithDebInfo's -O2, still inlined
# enough that the instrumented tests run at a usable speed.
cmake -S . -B build-tsan -DWEITUO_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build build-tsan -j "${JOBS:-2}" --target weituo-broker weituo-agent weituoctl \
  "${programs[@]}"

reports="$PWD/build-tsan/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
# log_path: children's stderr goes to their logs in temporary folders that the
# tests delete, so each process writes its reports to a file of its own here.
# exitcode 66 with halt_on_error: the first report ends the process and fails
# its test.
export TSAN_OPTIONS="suppressions=$PWD/deploy/tsan.supp halt_on_error=1 exitcode=66 \
second_deadlock_stack=1 log_path=$reports/tsan"
status=0
ctest --test-dir build-tsan -L "$labels" --output-on-failure -j 2 --timeout 600 || status=$?

count="$(cat "$reports"/tsan.* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer:' || true)"
if [ -n "$(ls -A "$reports")" ]; then
  for f in "$reports"/tsan.*; do
    echo "tsan: $f"
    head -n 60 "$f"
  done
  echo "tsan: ${count} report(s) in $(ls "$reports" | wc -l) process(es); all in $reports"
  exit 1
fi
echo "tsan: 0 reports"
exit "$status"
