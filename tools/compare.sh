#!/usr/bin/env bash
# Side-by-side broker comparison in one sitting: for every scenario and repetition,
# start a FRESH broker process per run (imqttd built from this checkout and
# mosquitto), alternate the broker order between repetitions, run
# tools/imqtt-bench against it with -pid, collect one JSON line per run and print a
# markdown table of medians.
#
# usage: tools/compare.sh [OUTDIR]            (default OUTDIR: /tmp/imqtt-compare-DATE)
# env:   REPS=3            repetitions (order alternates: odd reps forward, even reversed)
#        DURATION=10s      measured window of every flow scenario
#        ONLY=regex        run only scenarios whose name matches
#        SCENARIOS_FILE    lines "name|imqtt-bench flags" (default: the list below,
#                          close to ../shared/bench/scripts/scenarios.default)
#        BROKERS="imqttd mosquitto"   which brokers, in the order of odd repetitions;
#                          imqttd-native is imqttd without storage and IM
#                          (sessions in memory)
#        PORT=18840        first TCP port (imqttd PORT, mosquitto PORT+1)
#        MOSQUITTO_PERSISTENCE=1  mosquitto with persistence true (autosave_interval 1,
#                          max_queued_messages 100000) for the durable scenarios;
#                          imqttd is durable by default
#        DURABLE=1         the durable scenario list (QoS 1 fan-in to one
#                          persistent-session subscriber, 1/10/100 publishers)
# Writes OUTDIR/results.jsonl, OUTDIR/human.txt, OUTDIR/report.md, broker logs.
# Run nothing else meanwhile: the broker and the load generator share the machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/imqtt-compare-$(date +%Y%m%d-%H%M%S)}
REPS=${REPS:-3}
DURATION=${DURATION:-10s}
ONLY=${ONLY:-.}
PORT=${PORT:-18840}
BROKERS=${BROKERS:-imqttd mosquitto}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

default_scenarios() {
  cat <<'S'
# name|imqtt-bench flags (-broker, -pid, -label, -json, -duration are added)
fanin-q0|-scenario fanin -pubs 10 -qos 0
fanin-q1|-scenario fanin -pubs 10 -qos 1 -inflight 100
fanout-q0|-scenario fanout -subs 100 -qos 0
fanout-q1|-scenario fanout -subs 100 -qos 1 -inflight 100
pairs-q1|-scenario pairs -pubs 500 -rate 20000 -qos 1
pairs-q0|-scenario pairs -pubs 500 -rate 20000 -qos 0
pairs-q1-5k|-scenario pairs -pubs 500 -rate 5000 -qos 1
pairs-q1-v5|-scenario pairs -pubs 500 -rate 20000 -qos 1 -v 5
conns-10k-sub|-scenario conns -pubs 10000 -subscribe -hold 5s
conns-19k5-sub|-scenario conns -pubs 19500 -subscribe -hold 5s
conns-19k5|-scenario conns -pubs 19500 -hold 5s
S
}

echo "building bin/imqttd and bin/imqtt-bench" >&2
(cd "$ROOT" && go build -o bin/imqttd ./cmd/imqttd && go build -o bin/imqtt-bench ./tools/imqtt-bench)
BENCH=$ROOT/bin/imqtt-bench

# shellcheck source=tools/benchlib.sh
source "$ROOT/tools/benchlib.sh"
MOSQUITTO=""
if [[ " $BROKERS " == *" mosquitto "* ]]; then
  MOSQUITTO=$(find_mosquitto) || { echo "cannot install mosquitto; set BROKERS=imqttd" >&2; exit 1; }
fi
mosquitto_conf $((PORT + 1)) >"$OUT/mosquitto.conf"

if [[ -n "${MOSQUITTO_PERSISTENCE:-}" ]]; then
  mkdir -p "$OUT/mosquitto-data"
  sed -i 's/^persistence false$//; s/^max_queued_messages 8192$/max_queued_messages 100000/' "$OUT/mosquitto.conf"
  printf 'persistence true\npersistence_location %s/\nautosave_interval 1\n' "$OUT/mosquitto-data" >>"$OUT/mosquitto.conf"
fi

durable_scenarios() {
  cat <<'S'
durable-1|-scenario fanin -pubs 1 -qos 1 -persistent
durable-10|-scenario fanin -pubs 10 -qos 1 -persistent
durable-100|-scenario fanin -pubs 100 -qos 1 -persistent
S
}

if [[ -n "${SCENARIOS_FILE:-}" ]]; then SCEN_SRC=$(cat "$SCENARIOS_FILE")
elif [[ -n "${DURABLE:-}" ]]; then SCEN_SRC=$(durable_scenarios)
else SCEN_SRC=$(default_scenarios); fi
mapfile -t SCEN < <(grep -Ev '^[[:space:]]*(#|$)' <<<"$SCEN_SRC" | awk -F'|' -v re="$ONLY" '$1 ~ re')
read -r -a BLIST <<<"$BROKERS"

BPID="" DATADIR=""
cleanup() {
  if [[ -n "$BPID" ]]; then kill "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true; fi
  if [[ -n "$DATADIR" ]]; then rm -rf "$DATADIR"; fi
  BPID="" DATADIR=""
}
trap cleanup EXIT

start_broker() { # name -> sets BPID, ADDR
  local name=$1
  case $name in
  imqttd | imqttd-native)
    ADDR=127.0.0.1:$PORT
    DATADIR=$(mktemp -d /tmp/imqttd-bench.XXXXXX)
    local extra=()
    if [[ $name == imqttd-native ]]; then
      extra=(IMQTT_STORAGE_ENABLED=false IMQTT_IM_ENABLED=false)
    fi
    # IMQTTD_BENCH_ENV: tools/benchlib.sh. The raft transport takes a free port
    # (the default 7946 may be taken by a neighbour, which stops imqttd starting).
    env "${IMQTTD_BENCH_ENV[@]}" "${extra[@]}" \
      "$ROOT/bin/imqttd" serve --tcp "$ADDR" --ws off --admin off --data-dir "$DATADIR" \
      --raft-addr 127.0.0.1:0 \
      >>"$OUT/$name.broker.log" 2>&1 &
    ;;
  mosquitto)
    ADDR=127.0.0.1:$((PORT + 1))
    "$MOSQUITTO" -c "$OUT/mosquitto.conf" >>"$OUT/mosquitto.broker.log" 2>&1 &
    ;;
  *) echo "unknown broker $name" >&2; exit 2 ;;
  esac
  BPID=$!
  local host=${ADDR%:*} port=${ADDR##*:} i
  for ((i = 0; i < 150; i++)); do # up to 15 s for the port to accept
    if ! kill -0 "$BPID" 2>/dev/null; then return 1; fi
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

run_one() { # rep scenario-name flags broker
  local rep=$1 sname=$2 sflags=$3 name=$4
  if ! start_broker "$name"; then
    echo "== rep $rep $sname $name: SKIPPED, broker did not start (see $name.broker.log)" | tee -a "$OUT/human.txt" >&2
    cleanup
    return 0
  fi
  sleep 0.5
  echo "== rep $rep $sname $name (pid $BPID) load: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/human.txt" >&2
  # shellcheck disable=SC2086
  if timeout 600 "$BENCH" $sflags -duration "$DURATION" -broker "$ADDR" -pid "$BPID" -label "$name" -json \
    >"$OUT/last.out" 2>>"$OUT/bench.stderr"; then :; else
    echo "   imqtt-bench failed rc=$? (see bench.stderr)" | tee -a "$OUT/human.txt" >&2
  fi
  grep -v '^{' "$OUT/last.out" | tee -a "$OUT/human.txt" >&2 || true
  grep '^{' "$OUT/last.out" | sed "s/^{/{\"rep\":$rep,\"case\":\"$sname\",/" >>"$OUT/results.jsonl" || true
  if ! kill -0 "$BPID" 2>/dev/null; then echo "   broker exited during the run" | tee -a "$OUT/human.txt" >&2; fi
  cleanup
  sleep 2 # let TIME_WAIT sockets and the page cache settle between runs
}

{
  echo "# imqtt-bench compare $(date -u +%FT%TZ)"
  echo "# imqttd $(cd "$ROOT" && git rev-parse --short HEAD), $("$MOSQUITTO" -h 2>/dev/null | head -1 || true), $(go version)"
} >>"$OUT/human.txt"
for ((rep = 1; rep <= REPS; rep++)); do
  for s in "${SCEN[@]}"; do
    IFS='|' read -r sname sflags <<<"$s"
    order=("${BLIST[@]}")
    if ((rep % 2 == 0)); then order=(); for ((i = ${#BLIST[@]} - 1; i >= 0; i--)); do order+=("${BLIST[i]}"); done; fi
    for b in "${order[@]}"; do run_one "$rep" "$sname" "$sflags" "$b"; done
  done
done
"$BENCH" report "$OUT/results.jsonl" | tee "$OUT/report.md"
