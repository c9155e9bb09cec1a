#!/usr/bin/env bash
# Cross-check of tools/imqtt-bench's figures with mqbench, the independent load
# harness of ../shared/bench (stdlib-only, not part of this repository): the same
# brokers (imqttd from this checkout, mosquitto),
# the same scenarios, its own scripts/compare.sh (fresh broker per run, alternating
# order) and report.
#
# usage: tools/crosscheck.sh [OUTDIR]    (default /tmp/imqtt-crosscheck-DATE)
# env:   MQBENCH_DIR=../shared/bench     where mqbench's source is; absent: the script
#                                        says so and exits 0 (nothing to cross-check with)
#        CROSSCHECK_REPS=1               repetitions
#        ONLY='^(fanin-q0|fanin-q1|fanout-q0|fanout-q1|pairs-q1-5k|conns-10k-sub)$'
#        PORT=18930                      imqttd PORT, mosquitto PORT+1
# Writes OUTDIR/results.jsonl and OUTDIR/report.md (mqbench's medians table).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/imqtt-crosscheck-$(date +%Y%m%d-%H%M%S)}
MQBENCH_DIR=${MQBENCH_DIR:-$ROOT/../shared/bench}
REPS=${CROSSCHECK_REPS:-1}
PORT=${PORT:-18930}
export ONLY=${ONLY:-'^(fanin-q0|fanin-q1|fanout-q0|fanout-q1|pairs-q1-5k|conns-10k-sub)$'}
if [[ ! -f "$MQBENCH_DIR/scripts/compare.sh" ]]; then
  echo "no mqbench at $MQBENCH_DIR (set MQBENCH_DIR): nothing to cross-check with" >&2
  exit 0
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MQBENCH_DIR=$(cd "$MQBENCH_DIR" && pwd)
(cd "$ROOT" && go build -o bin/imqttd ./cmd/imqttd)
(cd "$MQBENCH_DIR" && go build -o "$OUT/mqbench" .)
# shellcheck source=tools/benchlib.sh
source "$ROOT/tools/benchlib.sh"
MOSQUITTO=$(find_mosquitto)
mosquitto_conf $((PORT + 1)) >"$OUT/mosquitto.conf"
IMQTTD_ENV="${IMQTTD_BENCH_ENV[*]}"
cat >"$OUT/brokers" <<EOF2
imqttd|127.0.0.1:$PORT|ulimit -n 20000; d=\$(mktemp -d); exec env $IMQTTD_ENV $ROOT/bin/imqttd serve --tcp 127.0.0.1:$PORT --ws off --admin off --data-dir \$d --raft-addr 127.0.0.1:0
mosquitto|127.0.0.1:$((PORT + 1))|ulimit -n 20000; exec $MOSQUITTO -c $OUT/mosquitto.conf
EOF2
MQBENCH="$OUT/mqbench" BROKERS_FILE="$OUT/brokers" "$MQBENCH_DIR/scripts/compare.sh" "$OUT" "$REPS"
echo "mqbench cross-check: $OUT/report.md" >&2
