# Shared by tools/compare.sh and tools/crosscheck.sh (sourced, not run).

# mosquitto_conf PORT: mosquitto's config as in ../shared/bench/BASELINE.md (no
# persistence, raised queue limits, loopback listener on PORT).
mosquitto_conf() {
  cat <<EOF2
listener $1 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 8192
max_queued_bytes 0
max_inflight_messages 1024
set_tcp_nodelay true
log_type error
connection_messages false
EOF2
}

# find_mosquitto: prints the mosquitto binary, installing the Debian package
# first if it is absent (apt-get update, then install).
find_mosquitto() {
  local m
  m=$(command -v mosquitto || true)
  [[ -z "$m" && -x /usr/sbin/mosquitto ]] && m=/usr/sbin/mosquitto
  if [[ -z "$m" ]]; then
    echo "mosquitto not found: installing the Debian package" >&2
    { apt-get update -qq && apt-get install -y mosquitto; } >&2 || return 1
    m=/usr/sbin/mosquitto
  fi
  echo "$m"
}

# The environment imqttd runs with in every comparison: the embedded default
# (anonymous on loopback) with the limits that would otherwise bite a load test
# from one IP raised: per-IP connections and connect rate off, max_connections
# just under the 20,000 descriptors of the process.
IMQTTD_BENCH_ENV=(IMQTT_LIMITS_PER_IP_CONNECTIONS=0 IMQTT_LIMITS_PER_IP_RATE=0
  IMQTT_LIMITS_MAX_CONNECTIONS=19990 IMQTT_LOG_LEVEL=warn IMQTT_LOG_FORMAT=json)
