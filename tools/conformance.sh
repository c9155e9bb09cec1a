#!/usr/bin/env bash
# Runs the Eclipse Paho interoperability suite (MQTT 3.1.1: 10 tests, 5.0: 27) against
# a fresh imqttd started with configs/paho-conformance.yaml on a free loopback port.
# Needs PAHO_TESTING_GITDIR (a git mirror of eclipse/paho.mqtt.testing) and the runner
# in ../shared/acceptance (or ACCEPTANCE_DIR). RETRIES (default 2) is passed to both runners;
# the engine issue's criterion is RETRIES=0, three runs in a row.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PAHO_TESTING_GITDIR:?set PAHO_TESTING_GITDIR to a git mirror of eclipse/paho.mqtt.testing}"
acc=${ACCEPTANCE_DIR:-../shared/acceptance}
[ -x "$acc/run-paho-v5.sh" ] || { echo "no runner in $acc" >&2; exit 2; }
bin=${BIN:-bin/imqttd}
[ -x "$bin" ] || make build
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
data=$(mktemp -d)
log=$(mktemp)
"$bin" serve --config configs/paho-conformance.yaml --data-dir "$data" --tcp "127.0.0.1:$port" --raft-addr 127.0.0.1:0 --log-format json --log-level warn 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
rc=0
echo "== MQTT 3.1.1 (imqttd on 127.0.0.1:$port)"
"$acc/run-paho-v311.sh" 127.0.0.1 "$port" --retries "${RETRIES:-2}" -q || rc=1
echo "== MQTT 5.0"
"$acc/run-paho-v5.sh" 127.0.0.1 "$port" --retries "${RETRIES:-2}" -q || rc=1
if ! kill -0 $pid 2>/dev/null; then echo "imqttd died during the run; log: $log" >&2; rc=1; fi
exit $rc
