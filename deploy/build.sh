#!/usr/bin/env bash
# Configures and builds into build/ (two jobs: this fits a 2-core machine).
# Usage: deploy/build.sh [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j "${JOBS:-2}" ${1:+--target "$@"}
