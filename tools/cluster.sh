#!/usr/bin/env bash
# Three imqttd nodes on 127.0.0.1 (make cluster; docs/cluster.md): the embedded
# default config (anonymous clients on loopback only), data under
# ${CLUSTER_DIR:-./data/cluster}/n1..n3, and distinct ports:
#
#   node  MQTT  WebSocket  admin  cluster (raft, forwarded writes, routing)
#   n1    1883  8083       18083  7946
#   n2    1884  8084       18084  7947
#   n3    1885  8085       18085  7948
#
# n1 bootstraps the cluster and creates its secret ($DIR/n1/cluster.secret);
# n2 and n3 join through it with that file (--cluster-secret-file), as an
# operator copies it to every node (on later runs every node already has
# state and rejoins by itself). Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/imqttd}
DIR=${CLUSTER_DIR:-./data/cluster}
[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }

pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait
}
trap stop INT TERM EXIT

start() { # id index extra-args...
  local id=$1 i=$2; shift 2
  mkdir -p "$DIR/$id"
  "$BIN" serve --node-id "$id" --data-dir "$DIR/$id" \
    --tcp "127.0.0.1:$((1883 + i))" --ws "127.0.0.1:$((8083 + i))" \
    --admin "127.0.0.1:$((18083 + i))" --raft-addr "127.0.0.1:$((7946 + i))" "$@" \
    2> >(sed -u "s/^/[$id] /" >&2) &
  pids+=($!)
}

start n1 0 --bootstrap
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:18083/readyz >/dev/null 2>&1 && break
  sleep 0.2
done
SECRET="$DIR/n1/cluster.secret"
[ -f "$SECRET" ] || { echo "n1 did not create $SECRET" >&2; exit 1; }
start n2 1 --join 127.0.0.1:7946 --cluster-secret-file "$SECRET"
start n3 2 --join 127.0.0.1:7946 --cluster-secret-file "$SECRET"
echo "cluster starting: MQTT on 127.0.0.1:1883-1885; status: bin/imqttd cluster status --addr 127.0.0.1:18083 --data-dir $DIR/n1" >&2
wait
