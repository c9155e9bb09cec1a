#!/usr/bin/env bash
# tools/s3server.sh: the S3-compatible server the media tests run against:
# SeaweedFS (Apache-2.0), built from the Go module proxy at the version pinned
# in tools/s3server/go.mod (a module of its own: SeaweedFS's go.mod has a
# replace directive, so `go install ...@version` refuses it).
#
#   tools/s3server.sh install      build `weed` into $(go env GOPATH)/bin unless there
#   tools/s3server.sh start DIR    run `weed server -s3` on free loopback ports with
#                                  data in DIR; prints S3_ENDPOINT=host:port, the
#                                  access and secret keys; Ctrl-C stops it
#
# The Go tests (cmd/imqttd/media_s3_test.go) start weed themselves; they find it
# through $WEED_BIN, $PATH or $(go env GOPATH)/bin and fail when CI=true and
# it is missing. Building takes a long time on 2 cores (hundreds of modules).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(go env GOBIN)"; [ -n "$bin" ] || bin="$(go env GOPATH)/bin"

free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

case "${1:-}" in
install)
  if [ -x "$bin/weed" ] || command -v weed >/dev/null 2>&1; then
    echo "weed already installed"; exit 0
  fi
  ( cd "$here/s3server" && go install github.com/seaweedfs/seaweedfs/weed )
  "$bin/weed" version
  ;;
start)
  dir="${2:?usage: $0 start DIR}"
  mkdir -p "$dir"
  weed="${WEED_BIN:-$(command -v weed || echo "$bin/weed")}"
  ak=imqtt-access; sk="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  cat >"$dir/s3.json" <<JSON
{"identities":[{"name":"imqtt","credentials":[{"accessKey":"$ak","secretKey":"$sk"}],"actions":["Admin","Read","Write","List","Tagging"]}]}
JSON
  s3=$(free_port)
  echo "S3_ENDPOINT=127.0.0.1:$s3 S3_ACCESS_KEY=$ak S3_SECRET_KEY=$sk"
  exec "$weed" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir" -volume.max=4 \
    -master.port="$(free_port)" -master.port.grpc="$(free_port)" -master.telemetry=false \
    -volume.port="$(free_port)" -volume.port.grpc="$(free_port)" \
    -filer -filer.port="$(free_port)" -filer.port.grpc="$(free_port)" \
    -s3 -s3.port="$s3" -s3.port.grpc="$(free_port)" -s3.port.iceberg=0 -s3.port.lance=0 \
    -s3.config="$dir/s3.json"
  ;;
*)
  echo "usage: $0 install | start DIR" >&2; exit 2
  ;;
esac
