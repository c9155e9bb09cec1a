#!/usr/bin/env bash
# IM benchmarks: imqtt-bench's imchat, imgroup and imstorm scenarios against a fresh
# imqttd per case. Every message goes through the IM layer: checked, stamped, committed
# through raft (durable) before its ack, then fanned out to the members' inboxes.
#
# usage: tools/imbench.sh [OUTDIR]        (default OUTDIR: /tmp/imqtt-imbench-DATE)
# env:   DURATION=10s   measured window of every case (after a 2 s warmup; imstorm
#                       ignores it: it runs until every device synced)
#        ONLY=regex     run only the cases whose name matches
#        PORT=18850     MQTT port of the broker (its raft transport takes a free port)
#        CASES_FILE     lines "name|imqtt-bench flags" instead of the list below
#
# Auth is JWT only (HS256): the script writes a random secret, imqttd verifies with
# it and imqtt-bench signs one token per user with it (-jwt-secret-file), so no
# password file with thousands of users is needed. The IM rate limit is off and
# groups may have 20,000 members.
#
# Prints the human summary of every case on stderr and the JSON lines on stdout;
# writes OUTDIR/results.jsonl, OUTDIR/human.txt, OUTDIR/report.md (the markdown
# table of `imqtt-bench report`), OUTDIR/imqttd.log. Run nothing else meanwhile:
# broker and load generator share the machine's cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/imqtt-imbench-$(date +%Y%m%d-%H%M%S)}
DURATION=${DURATION:-10s}
ONLY=${ONLY:-.}
PORT=${PORT:-18850}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# name|imqtt-bench flags (-broker, -pid, -label, -json, -duration, -jwt-secret-file are added)
# imqttd handles one connection's publishes one after the other and acks an IM send
# only after its raft commit and its fan-out: a sender's throughput is 1 / (commit +
# fan-out time) whatever its window, and a deeper -inflight only adds queueing to the
# latency. The floods therefore keep 4 sends in flight per sender. Group rates stay
# below what one sender's serial fan-out can do (about 1 / (members x 30 us) on this
# machine), so their latency is the fan-out's, not a backlog's; imgroup-1000-flood
# measures that ceiling. imstorm-1000: 1000 receivers go offline, 10 senders leave
# 20 messages for each, then all 1000 reconnect at once (200 dials in flight) and
# sync (reconnect rate, time to synced, missing must be 0).
cases() {
  cat <<'S'
imchat-flood-10|-scenario imchat -pubs 10 -inflight 4
imchat-flood-100|-scenario imchat -pubs 100 -inflight 4
imchat-5k-100|-scenario imchat -pubs 100 -rate 5000
imchat-receipts-100|-scenario imchat -pubs 100 -inflight 4 -receipts 1
imgroup-10|-scenario imgroup -subs 10 -pubs 1 -rate 200
imgroup-1000|-scenario imgroup -subs 1000 -pubs 1 -rate 10
imgroup-1000-flood|-scenario imgroup -subs 1000 -pubs 1 -inflight 1
imgroup-10000|-scenario imgroup -subs 10000 -pubs 1 -rate 2
imstorm-1000|-scenario imstorm -subs 1000 -pubs 10 -msgs 20
S
}

echo "building bin/imqttd (make build) and bin/imqtt-bench" >&2
(cd "$ROOT" && make -s build >&2 && go build -o bin/imqtt-bench ./tools/imqtt-bench)
BENCH=$ROOT/bin/imqtt-bench

TMP=$(mktemp -d /tmp/imbench.XXXXXX)
BPID=""
stop_broker() {
  if [[ -n "$BPID" ]]; then kill "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true; fi
  BPID=""
  rm -rf "$TMP/data"
}
trap 'stop_broker; rm -rf "$TMP"' EXIT

SECRET=$TMP/hs256.secret
head -c 48 /dev/urandom | base64 | tr -d '\n' >"$SECRET"
chmod 600 "$SECRET"
cat >"$TMP/imqttd.yaml" <<EOF2
node:
  id: imbench
  data_dir: $TMP/data
log:
  level: warn
  format: json
listeners:
  tcp:
    enabled: true
    kind: tcp
    address: 127.0.0.1:$PORT
  ws:
    enabled: false
limits:
  max_connections: 19990     # the process has 20,000 descriptors
  per_ip_connections: 0      # every client comes from loopback
  per_ip_rate: 0
auth:
  allow_anonymous: false
  jwt:
    enabled: true
    algorithms: [HS256]
    hmac_secret_file: $SECRET
admin:
  enabled: false
cluster:
  bind_addr: 127.0.0.1:0
im:
  max_devices: 10            # a group sender is a member's second device
  group_max_members: 20000
  rate_limit:
    messages_per_second: 0   # off: the load is the point
EOF2

start_broker() {
  "$ROOT/bin/imqttd" serve --config "$TMP/imqttd.yaml" >>"$OUT/imqttd.log" 2>&1 &
  BPID=$!
  local i
  for ((i = 0; i < 150; i++)); do # up to 15 s for the port to accept
    if ! kill -0 "$BPID" 2>/dev/null; then return 1; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

{
  echo "# imqtt-bench IM cases $(date -u +%FT%TZ)"
  echo "# imqttd $(cd "$ROOT" && git rev-parse --short HEAD), $(go version), $(nproc) cores"
} | tee -a "$OUT/human.txt" >&2
if [[ -n "${CASES_FILE:-}" ]]; then CASE_SRC=$(cat "$CASES_FILE"); else CASE_SRC=$(cases); fi
mapfile -t CASES < <(grep -Ev '^[[:space:]]*(#|$)' <<<"$CASE_SRC" | awk -F'|' -v re="$ONLY" '$1 ~ re')
for c in "${CASES[@]}"; do
  IFS='|' read -r name flags <<<"$c"
  if ! start_broker; then
    echo "== $name: SKIPPED, imqttd did not start (see $OUT/imqttd.log)" | tee -a "$OUT/human.txt" >&2
    stop_broker
    continue
  fi
  echo "== $name (imqttd pid $BPID) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/human.txt" >&2
  # shellcheck disable=SC2086
  if timeout 600 "$BENCH" $flags -duration "$DURATION" -broker "127.0.0.1:$PORT" -pid "$BPID" \
    -label imqttd -json -jwt-secret-file "$SECRET" >"$OUT/last.out" 2>"$OUT/last.err"; then :; else
    echo "   imqtt-bench failed rc=$? (see $OUT/bench.stderr)" | tee -a "$OUT/human.txt" >&2
  fi
  cat "$OUT/last.err" >>"$OUT/bench.stderr"
  grep -E '^\[im(chat|group|storm)\] [a-z0-9]' "$OUT/last.err" | grep -v 'phase=' | tee -a "$OUT/human.txt" >&2 || true
  grep -v '^{' "$OUT/last.out" | tee -a "$OUT/human.txt" >&2 || true
  grep '^{' "$OUT/last.out" | sed "s/^{/{\"case\":\"$name\",/" | tee -a "$OUT/results.jsonl" || true
  if ! kill -0 "$BPID" 2>/dev/null; then echo "   imqttd exited during the run" | tee -a "$OUT/human.txt" >&2; fi
  stop_broker
  sleep 1 # let TIME_WAIT sockets and the page cache settle
done
if [[ -s "$OUT/results.jsonl" ]]; then
  "$BENCH" report "$OUT/results.jsonl" | tee "$OUT/report.md" >&2
fi
