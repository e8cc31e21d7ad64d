#!/usr/bin/env bash
# group_compare.sh: what a broker group of three costs against one broker
# (docs/group.md, docs/benchmarks.md "A group of three against one broker"),
# measured in one session with weituo_wire_bench, single and group runs
# interleaved so that both see the same machine:
#
#   (a) saturated: 1 producer court commissioning 1 consumer court (the
#       bench's --producers 1 --consumers 2: court 0 produces, court 1
#       consumes; court 0 also takes its EV_DELIVERED receipts), window
#       1,000 unreceipted, prefetch (the broker's --window) 200, ~1 KB,
#       COUNT commissions; confirmed/s and delivered/s;
#   (b) open loop at RATE/s for SECONDS_ s, same courts; p50/p99/p99.9
#       submit-to-delivered.
#
# For each of PAIRS rounds: (a) single, (a) group, (b) single, (b) group.
# Prints every run's figures, the medians, and group/single. The JSON lines
# are kept in OUT (default: a temporary folder, printed).
#
#   tests/bench/group_compare.sh
#   PAIRS=3 COUNT=20000 tests/bench/group_compare.sh
#
# Environment: BUILD_DIR (default build), PAIRS (5), COUNT (120000: >= 10 s a run here), RATE (1000),
# SECONDS_ (10), SYNC (true), SECURITY (curve), OUT, NO_BUILD (1: use the
# build as it is).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
PAIRS="${PAIRS:-5}"
COUNT="${COUNT:-120000}"
RATE="${RATE:-1000}"
SECONDS_="${SECONDS_:-10}"
SYNC="${SYNC:-true}"
SECURITY="${SECURITY:-curve}"
OUT="${OUT:-$(mktemp -d /tmp/weituo-group-compare-XXXXXX)}"
mkdir -p "$OUT"

log() { echo "group_compare.sh: $*" >&2; }

if [ "${NO_BUILD:-0}" != 1 ]; then
  if ! cmake --build "$BUILD_DIR" -j 2 --target weituo_wire_bench weituo-broker \
    >"$OUT/build.log" 2>&1; then
    tail -40 "$OUT/build.log" >&2
    exit 1
  fi
fi
BENCH="$BUILD_DIR/tests/bench/weituo_wire_bench"
COMMON=(--producers 1 --consumers 2 --window 1000 --prefetch 200 --payload-bytes 1024
  --sync "$SYNC" --security "$SECURITY" --json)

# One run: $1 the kind (saturated or rate), $2 single or group; appends its
# JSON line, with "kind" and "round" keys, to $OUT/runs.jsonl.
run() {
  local kind="$1" setup="$2" round="$3"
  local args=("${COMMON[@]}")
  if [ "$kind" = saturated ]; then args+=(--count "$COUNT"); else
    args+=(--rate "$RATE" --seconds "$SECONDS_")
  fi
  [ "$setup" = group ] && args+=(--group)
  log "round $round: $kind, $setup"
  local line
  if ! line="$("$BENCH" "${args[@]}" 2>>"$OUT/bench.log")"; then
    log "round $round $kind $setup failed (see $OUT/bench.log)"
  fi
  [ -n "$line" ] &&
    echo "$line" | sed "s/^{/{\"kind\":\"$kind\",\"setup\":\"$setup\",\"round\":$round,/" \
      >>"$OUT/runs.jsonl"
  return 0
}

: >"$OUT/runs.jsonl"
log "$(nproc) cores; runs in $OUT"
for round in $(seq "$PAIRS"); do
  run saturated single "$round"
  run saturated group "$round"
  run rate single "$round"
  run rate group "$round"
done

python3 - "$OUT/runs.jsonl" <<'EOF'
import json, statistics, sys

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]

def pick(kind, setup):
    return sorted((r for r in runs if r["kind"] == kind and r["setup"] == setup),
                  key=lambda r: r["round"])

def med(values):
    return statistics.median(values) if values else float("nan")

def group_text(r):
    g = r.get("group")
    if not g:
        return ""
    return ("  leader cpu %.2f s, followers %s s, etcd %.2f s; lag batches max %d median %.1f,"
            " ms max %d median %.1f; in-sync min %d" %
            (g["leader_cpu_s"], "/".join("%.2f" % c for c in g["follower_cpu_s"]),
             g["etcd_cpu_s"], g["lag_batches_max"], g["lag_batches_median"], g["lag_ms_max"],
             g["lag_ms_median"], g["in_sync_min"]))

def failed(r):
    return r["submit_failures"] or r["not_delivered"] or r["timed_out"]

print("== saturated: confirmed/s, delivered/s (each run) ==")
sat = {}
for setup in ("single", "group"):
    rs = pick("saturated", setup)
    for r in rs:
        print("%-6s round %d: confirmed %8.0f/s  delivered %8.0f/s  run %.1f s  broker cpu %.2f s%s%s" %
              (setup, r["round"], r["receipted_per_s"], r["delivered_per_s"], r["run_s"],
               r["broker_cpu_s"], "  FAILED" if failed(r) else "", group_text(r)))
    sat[setup] = (med([r["receipted_per_s"] for r in rs]), med([r["delivered_per_s"] for r in rs]))

rate_runs = pick("rate", "single") + pick("rate", "group")
offered = rate_runs[0]["offered_per_s"] if rate_runs else 0
print("\n== open loop at %.0f/s offered: submit-to-delivered ms (each run) ==" % offered)
lat = {}
for setup in ("single", "group"):
    rs = pick("rate", setup)
    for r in rs:
        d = r["delivered_ms"]
        print("%-6s round %d: p50 %6.2f  p99 %6.2f  p99.9 %6.2f  max %7.2f  delivered %6.0f/s%s%s" %
              (setup, r["round"], d["p50"], d["p99"], d["p999"], d["max"], r["delivered_per_s"],
               "  FAILED" if failed(r) else "", group_text(r)))
    lat[setup] = tuple(med([r["delivered_ms"][k] for r in rs]) for k in ("p50", "p99", "p999"))

def ratio(a, b):
    return a / b if b else float("nan")

print("\n== medians ==")
print("| measure | single | group | group/single |")
print("|---|---|---|---|")
for i, name in enumerate(("confirmed/s (saturated)", "delivered/s (saturated)")):
    print("| %s | %.0f | %.0f | %.2f |" % (name, sat["single"][i], sat["group"][i],
                                           ratio(sat["group"][i], sat["single"][i])))
for i, name in enumerate(("p50 ms", "p99 ms", "p99.9 ms")):
    print("| submit-to-delivered %s at the offered rate | %.2f | %.2f | %.2f (%+.2f ms) |" %
          (name, lat["single"][i], lat["group"][i], ratio(lat["group"][i], lat["single"][i]),
           lat["group"][i] - lat["single"][i]))
gs = pick("saturated", "group")
if gs:
    print("| follower lag at saturation, batches: max / median (median of runs) | | %.0f / %.1f | |" %
          (med([r["group"]["lag_batches_max"] for r in gs]),
           med([r["group"]["lag_batches_median"] for r in gs])))
    print("| follower lag at saturation, ms: max / median (median of runs) | | %.0f / %.1f | |" %
          (med([r["group"]["lag_ms_max"] for r in gs]), med([r["group"]["lag_ms_median"] for r in gs])))
EOF
log "JSON lines: $OUT/runs.jsonl"
