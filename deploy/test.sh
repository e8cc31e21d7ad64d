#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh
cd build
# Unit tests run in parallel; process-level tests are marked RUN_SERIAL.
ctest --output-on-failure -j 2 --timeout 600
