#!/usr/bin/env bash
# Every figure of docs/BENCHMARKS.md in one go (make bench). Installs mosquitto
# (the Debian package) if it is absent (tools/compare.sh does), builds the
# binaries from this checkout, and runs, one after the other (nothing else
# should run meanwhile: brokers and load generator share the machine):
#
#   go/         Go micro-benchmarks of the hot paths (go test -bench, -benchmem)
#   compare/    imqttd vs mosquitto, the flow and connection scenarios, REPS
#               alternating repetitions
#   crosscheck/ mqbench (../shared/bench, an independent harness) on the main
#               scenarios, same two brokers (tools/crosscheck.sh; skipped if absent)
#   durable/    QoS 1 to a persistent session: imqttd vs mosquitto persistence
#   im/         IM chat and group scenarios (tools/imbench.sh)
#   cluster/    a 3-node cluster: cross-node and durable figures (tools/clusterbench.sh)
#
# usage: tools/benchall.sh [OUTDIR]   (default /tmp/imqtt-bench-all-DATE)
# env:   REPS (default 3), DURATION (default 10s), ONLY_PARTS="go compare crosscheck durable im cluster"
# Each part writes its own results.jsonl / report.md / summary.txt; the failing part
# is reported and the others still run. Takes about an hour with the defaults.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/imqtt-bench-all-$(date +%Y%m%d-%H%M%S)}
PARTS=${ONLY_PARTS:-go compare crosscheck durable im cluster}
export REPS=${REPS:-3} DURATION=${DURATION:-10s}
mkdir -p "$OUT"
cd "$ROOT"
failed=()
part() { # name command...
  local name=$1; shift
  [[ " $PARTS " == *" $name "* ]] || return 0
  echo "== $name ($(date -u +%H:%M:%S))" | tee -a "$OUT/index.txt" >&2
  mkdir -p "$OUT/$name"
  if ! "$@" >"$OUT/$name/stdout.txt" 2>"$OUT/$name/stderr.txt"; then
    failed+=("$name")
    echo "   $name failed (see $OUT/$name/stderr.txt)" | tee -a "$OUT/index.txt" >&2
  fi
}
part go go test -run '^$' -bench . -benchmem ./...
part compare tools/compare.sh "$OUT/compare"
part crosscheck tools/crosscheck.sh "$OUT/crosscheck"
part durable env MOCHI_REF=none DURABLE=1 MOSQUITTO_PERSISTENCE=1 tools/compare.sh "$OUT/durable"
part im tools/imbench.sh "$OUT/im"
part cluster tools/clusterbench.sh "$OUT/cluster"
echo "results in $OUT (index.txt; compare/report.md, crosscheck/report.md, durable/report.md, im/report.md, cluster/summary.txt, go/stdout.txt)" >&2
[[ ${#failed[@]} -eq 0 ]] || { echo "failed parts: ${failed[*]}" >&2; exit 1; }
