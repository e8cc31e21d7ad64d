#!/usr/bin/env bash
# Installs what is missing, builds, runs every test through ctest, runs the
# broker's and the agent's tests once more under ThreadSanitizer
# (deploy/tsan.sh), then fuzzes each libFuzzer target for 15 s (deploy/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh
# Unit tests run in parallel; process-level tests are marked RUN_SERIAL.
ctest --test-dir build --output-on-failure -j 2 --timeout 600
deploy/tsan.sh
deploy/fuzz.sh 15
