#!/usr/bin/env bash
# measure.sh: memory per idle subscribed connection for the connection models of
# issue 17 (docs/BENCHMARKS.md, "Engine connection model"). One server at a time,
# cases alternating within each round; the client is imqtt-bench -scenario conns in
# its own process.
#
#   tools/connproto/measure.sh            # N=19500 ROUNDS=3, all cases
#   CASES="rawconn nbio" ROUNDS=1 N=2000 tools/connproto/measure.sh
#   CASES="imqttd-native mosquitto" tools/connproto/measure.sh   # the engine (issue 17)
#   CASES="imqttd-native-tls" tools/connproto/measure.sh          # the engine over TLS
#
# Per case and round it prints one line: rss0_kb (server after start), rss1_kb
# (N connections held), per_conn_b = (rss1 - rss0) * 1024 / N, and the kernel's TCP
# memory (/proc/net/sockstat "mem", 4 KiB pages, both ends of every connection since
# client and server share the machine) before and while held. rss0 and rss1 are read
# after the server's forced GCs: connproto's /stats (runtime.GC twice +
# debug.FreeOSMemory), imqttd's /debug/pprof/heap?gc=1 twice (admin.pprof on; one
# runtime.GC each, no FreeOSMemory), none for mosquitto. imqttd and mosquitto hold
# HOLD_EXT seconds (default 125) before the sample, connproto HOLD_PROTO (20).
# For imqttd the note column adds freeos_rss and freeos_per_conn_b: the same
# readings after debug.FreeOSMemory (admin /debug/pprof/freeosmemory), taken
# right after rss0 and rss1.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-19500}
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-"rawconn rawconn-handoff nbio rawconn-handoff-tls imqttd mosquitto"}
HOLD_PROTO=${HOLD_PROTO:-20}
HOLD_EXT=${HOLD_EXT:-125}
OUT=${OUT:-/tmp/engine-proto/measure}
PORT=${PORT:-31883}
STATS=${STATS:-36060}
ADMIN=${ADMIN:-38083}
BIN=$OUT/bin
mkdir -p "$BIN"
go build -o "$BIN/connproto" ./tools/connproto
go build -o "$BIN/imqtt-bench" ./tools/imqtt-bench
go build -o "$BIN/imqttd" ./cmd/imqttd

rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
tcpmem() { awk '/^TCP:/{print $NF}' /proc/net/sockstat; }
tcpinuse() { awk '/^TCP:/{print $3}' /proc/net/sockstat; }
established() { ss -Htn state established "( sport = :$PORT )" | wc -l; }
waitport() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2
  return 1
}

PID=
DATA=
start_server() { # case
  case $1 in
    rawconn | nbio)
      "$BIN/connproto" -model "$1" -addr "127.0.0.1:$PORT" -stats-addr "127.0.0.1:$STATS" 2>>"$OUT/server.log" &
      PID=$!; waitport "$STATS" ;;
    rawconn-handoff)
      "$BIN/connproto" -model rawconn -handoff -addr "127.0.0.1:$PORT" -stats-addr "127.0.0.1:$STATS" 2>>"$OUT/server.log" &
      PID=$!; waitport "$STATS" ;;
    rawconn-handoff-tls)
      "$BIN/connproto" -model rawconn -handoff -tls -addr "127.0.0.1:$PORT" -stats-addr "127.0.0.1:$STATS" 2>>"$OUT/server.log" &
      PID=$!; waitport "$STATS" ;;
    imqttd | imqttd-native | imqttd-native-tls)
      DATA=$(mktemp -d /tmp/engine-proto/imqttd-data.XXXX)
      local extra=() lflags=(--tcp "127.0.0.1:$PORT")
      [[ $1 == imqttd-native* ]] && extra=(IMQTT_MQTT_ENGINE=native IMQTT_STORAGE_ENABLED=false IMQTT_IM_ENABLED=false)
      if [[ $1 == *-tls ]]; then # an ECDSA P-256 certificate, as connproto's TLS case
        [[ -s $OUT/tls.crt ]] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
          -keyout "$OUT/tls.key" -out "$OUT/tls.crt" -days 30 -subj /CN=127.0.0.1 2>/dev/null
        extra+=(IMQTT_LISTENERS_TLS_TLS_CERT_FILE="$OUT/tls.crt" IMQTT_LISTENERS_TLS_TLS_KEY_FILE="$OUT/tls.key")
        lflags=(--tcp off --tls "127.0.0.1:$PORT")
      fi
      env "${extra[@]}" IMQTT_LIMITS_PER_IP_CONNECTIONS=0 IMQTT_LIMITS_PER_IP_RATE=0 \
        IMQTT_LIMITS_MAX_CONNECTIONS=19990 IMQTT_LOG_LEVEL=warn IMQTT_LOG_FORMAT=json \
        IMQTT_ADMIN_PPROF=true \
        "$BIN/imqttd" serve --data-dir "$DATA" "${lflags[@]}" --ws off \
        --admin "127.0.0.1:$ADMIN" --raft-addr 127.0.0.1:0 >>"$OUT/server.log" 2>&1 &
      PID=$!; waitport "$ADMIN"; waitport "$PORT"
      for _ in $(seq 1 100); do [[ -s $DATA/admin.token ]] && break; sleep 0.1; done ;;
    mosquitto)
      printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_connections -1\npersistence false\nlog_dest none\n' "$PORT" >"$OUT/mosquitto.conf"
      /usr/sbin/mosquitto -c "$OUT/mosquitto.conf" 2>>"$OUT/server.log" &
      PID=$!; waitport "$PORT" ;;
  esac
}

# gc_rss CASE: force the server's GC where it has a trigger, then print VmRSS (kB).
# connproto's JSON snapshot goes to $OUT/stats.jsonl.
gc_rss() {
  case $1 in
    rawconn* | nbio)
      curl -s "127.0.0.1:$STATS/stats" | tee -a "$OUT/stats.jsonl" | sed 's/.*"rss_kb":\([0-9]*\).*/\1/' ;;
    imqttd*)
      for _ in 1 2; do
        curl -s -o /dev/null -H "Authorization: Bearer $(cat "$DATA/admin.token")" \
          "http://127.0.0.1:$ADMIN/debug/pprof/heap?gc=1"
      done
      rss "$PID" ;;
    mosquitto) rss "$PID" ;;
  esac
}

# free_rss CASE: imqttd only: debug.FreeOSMemory (admin /debug/pprof/freeosmemory),
# then VmRSS (kB): live memory without the GC's headroom; "-" for other cases
# (connproto's gc_rss already frees).
free_rss() {
  case $1 in
    imqttd*)
      curl -s -o /dev/null -H "Authorization: Bearer $(cat "$DATA/admin.token")" \
        "http://127.0.0.1:$ADMIN/debug/pprof/freeosmemory"
      rss "$PID" ;;
    *) echo - ;;
  esac
}

stop_server() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  [[ -n $DATA ]] && rm -rf "$DATA"
  DATA=
  sleep 2 # let TIME_WAIT and the kernel's socket memory settle between cases
}

echo "# $(date -u +%FT%TZ) N=$N rounds=$ROUNDS cases=[$CASES] $(git rev-parse --short HEAD)"
printf '%-12s %5s %8s %8s %10s %10s %8s %8s %6s %s\n' case round rss0_kb rss1_kb per_conn_b nogc_rss1 tcpmem0 tcpmem1 alive note
for r in $(seq 1 "$ROUNDS"); do
  for c in $CASES; do
    start_server "$c"
    sleep 2
    rss0=$(gc_rss "$c")
    free0=$(free_rss "$c")
    mem0=$(tcpmem)
    hold=$HOLD_PROTO
    [[ $c == imqttd* || $c == mosquitto ]] && hold=$HOLD_EXT
    tlsflag=()
    [[ $c == *-tls ]] && tlsflag=(-tls)
    "$BIN/imqtt-bench" -broker "127.0.0.1:$PORT" -scenario conns -pubs "$N" -subscribe \
      -settle 2s -hold "$((hold + 15))s" -pid "$PID" -json "${tlsflag[@]}" \
      >"$OUT/bench-$c-$r.out" 2>"$OUT/bench-$c-$r.err" &
    bpid=$!
    for _ in $(seq 1 120); do
      [[ $(established) -ge $N ]] && break
      kill -0 "$bpid" 2>/dev/null || break
      sleep 1
    done
    sleep "$hold"
    nogc=$(rss "$PID")
    rss1=$(gc_rss "$c")
    free1=$(free_rss "$c")
    mem1=$(tcpmem)
    inuse1=$(tcpinuse)
    wait "$bpid" || true
    alive=$(grep -o '"alive_after_hold":[0-9]*' "$OUT/bench-$c-$r.out" | cut -d: -f2 || echo '?')
    stop_server
    per=$(( (rss1 - rss0) * 1024 / N ))
    freed=
    [[ $free1 != - ]] && freed=" freeos_rss=${free0}->${free1}kB freeos_per_conn_b=$(( (free1 - free0) * 1024 / N ))"
    printf '%-12s %5s %8s %8s %10s %10s %8s %8s %6s %s\n' "$c" "$r" "$rss0" "$rss1" "$per" "$nogc" "$mem0" "$mem1" "${alive:-?}" "tcp_inuse_held=$inuse1$freed"
  done
done
