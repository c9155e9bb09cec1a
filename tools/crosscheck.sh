#!/usr/bin/env bash
# Cross-check of tools/imqtt-bench's figures with mqbench, the independent load
# harness of ../shared/bench (stdlib-only, not part of this repository): the same
# brokers (imqttd from this checkout, mosquitto, stock mochi from tools/mochiref),
# the same scenarios, its own scripts/compare.sh (fresh broker per run, alternating
# order) and report.
#
# usage: tools/crosscheck.sh [OUTDIR]    (default /tmp/imqtt-crosscheck-DATE)
# env:   MQBENCH_DIR=../shared/bench     where mqbench's source is; absent: the script
#                                        says so and exits 0 (nothing to cross-check with)
#        CROSSCHECK_REPS=1               repetitions
#        ONLY='^(fanin-q0|fanin-q1|fanout-q0|fanout-q1|pairs-q1-5k|conns-10k-sub)$'
#        PORT=18930                      imqttd PORT, mosquitto PORT+1, mochi PORT+2
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
(cd "$ROOT" && go build -o bin/imqttd ./cmd/imqttd && go build -o bin/mochiref ./tools/mochiref)
(cd "$MQBENCH_DIR" && go build -o "$OUT/mqbench" .)
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[[ -x "$MOSQUITTO" ]] || { apt-get update -qq && apt-get install -y mosquitto; } >&2
cat >"$OUT/mosquitto.conf" <<EOF2
listener $((PORT + 1)) 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 8192
max_queued_bytes 0
max_inflight_messages 1024
set_tcp_nodelay true
log_type error
connection_messages false
EOF2
IMQTTD_ENV="IMQTT_LIMITS_PER_IP_CONNECTIONS=0 IMQTT_LIMITS_PER_IP_RATE=0 IMQTT_LIMITS_MAX_CONNECTIONS=19990 IMQTT_LOG_LEVEL=warn"
cat >"$OUT/brokers" <<EOF2
imqttd|127.0.0.1:$PORT|ulimit -n 20000; d=\$(mktemp -d); exec env $IMQTTD_ENV $ROOT/bin/imqttd serve --tcp 127.0.0.1:$PORT --ws off --admin off --data-dir \$d --raft-addr 127.0.0.1:0
mosquitto|127.0.0.1:$((PORT + 1))|ulimit -n 20000; exec $MOSQUITTO -c $OUT/mosquitto.conf
mochi|127.0.0.1:$((PORT + 2))|ulimit -n 20000; exec $ROOT/bin/mochiref -addr 127.0.0.1:$((PORT + 2))
EOF2
MQBENCH="$OUT/mqbench" BROKERS_FILE="$OUT/brokers" "$MQBENCH_DIR/scripts/compare.sh" "$OUT" "$REPS"
echo "mqbench cross-check: $OUT/report.md" >&2
