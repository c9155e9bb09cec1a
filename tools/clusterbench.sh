#!/usr/bin/env bash
# Cross-node figures of a 3-node cluster on this machine (docs/BENCHMARKS.md,
# "Cluster"): tools/cluster.sh with the per-IP limits off (one load generator on
# one IP) and logs at warn, then imqtt-bench pairs with publishers on n2 and
# subscribers on n3 (every message crosses nodes), and the same run on one node
# for comparison. OUT (default a temp dir) gets the summaries (summary.txt, with one JSON line per run).
#   tools/clusterbench.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-$(mktemp -d /tmp/clusterbench.XXXXXX)}
mkdir -p "$OUT"
make -s build
go build -o bin/imqtt-bench ./tools/imqtt-bench
DIR=$(mktemp -d /tmp/clusterbench-data.XXXXXX)
IMQTT_LIMITS_PER_IP_CONNECTIONS=0 IMQTT_LIMITS_PER_IP_RATE=0 IMQTT_LOG_LEVEL=warn \
  CLUSTER_DIR=$DIR tools/cluster.sh 2>"$OUT/cluster.log" &
CPID=$!
trap 'kill -TERM $CPID 2>/dev/null; wait $CPID 2>/dev/null || true; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  bin/imqttd cluster status --addr 127.0.0.1:18085 --data-dir "$DIR/n3" --json 2>/dev/null | grep -q '"leader_id": "n1"' && break
  sleep 0.2
done
sleep 1
run() { # label args...
  local label=$1; shift
  bin/imqtt-bench -label "$label" -json "$@" 2>>"$OUT/bench.log" | tee -a "$OUT/summary.txt"
}
for qos in 0 1; do
  for rate in 5000 20000; do
    run "same node q$qos $rate/s" -scenario pairs -pubs 500 -rate $rate -qos $qos -broker 127.0.0.1:1884 -src-ips 8
    run "cross node q$qos $rate/s" -scenario pairs -pubs 500 -rate $rate -qos $qos -broker 127.0.0.1:1884 -sub-broker 127.0.0.1:1885 -src-ips 8
  done
done
# Persistent subscribers: every message goes through raft (enqueue on the
# publisher's node, forwarded to the leader) and is delivered by the pump of
# the subscriber's node from its replica of the queue.
for rate in 1000 2000 5000; do
  run "cross node durable q1 $rate/s" -scenario pairs -pubs 500 -rate $rate -qos 1 -persistent -broker 127.0.0.1:1884 -sub-broker 127.0.0.1:1885 -src-ips 8
done
echo "results in $OUT" >&2
