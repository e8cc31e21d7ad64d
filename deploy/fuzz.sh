#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz/ (Clang, ASan, UBSan) and runs
# each for SECONDS on a scratch copy of its seed corpus, so tests/fuzz/corpus/
# stays as committed. Prints the inputs each target ran; exits non-zero if any
# target crashed, naming the file that reproduces it. See docs/fuzzing.md.
# Usage: deploy/fuzz.sh [SECONDS_PER_TARGET]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
targets=(envelope lifecycle)

CC=clang CXX=clang++ cmake -S . -B build-fuzz -DWEITUO_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "${JOBS:-2}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
crashes="$PWD/build-fuzz/crashes"
mkdir -p "$crashes"

passed=0
failed=0
for target in "${targets[@]}"; do
  fuzzer="build-fuzz/tests/fuzz/${target}_fuzz"
  cp -r "tests/fuzz/corpus/$target" "$scratch/$target"
  log="$scratch/$target.log"
  status=0
  "$fuzzer" "$scratch/$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$crashes/${target}-" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
  echo "fuzz: ${target}_fuzz ran ${runs:-?} inputs in ${seconds}s"
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    tail -n 40 "$log"
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    echo "fuzz: ${target}_fuzz FAILED (exit $status); reproduce with: $fuzzer ${artifact:-<input>}"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
