# syntax=docker/dockerfile:1
# imqttd container image: a static Go binary (no cgo) on distroless/static,
# running as the unprivileged user nonroot (65532). Build:
#   docker build --build-arg VERSION=$(git describe --tags --always) -t imqtt/imqttd .
# Run (config and password file from /etc/imqtt, data in a volume):
#   docker run -p 1883:1883 -v imqtt-data:/data -v $PWD/etc:/etc/imqtt:ro \
#     imqtt/imqttd serve --config /etc/imqtt/imqttd.yaml
# See docs/operations.md "Containers".

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/imqttd ./cmd/imqttd \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/imqttd /usr/local/bin/imqttd
COPY --from=build --chown=65532:65532 /out/data /data
# Inside a container the listeners must bind all interfaces. Anonymous access is
# ignored on non-loopback listeners: mount a config with a password file or JWT.
# The admin listener stays on loopback and needs the token the node writes to
# /data/admin.token (the health check's `imqttd ctl` finds it through
# IMQTT_NODE_DATA_DIR). To scrape metrics from outside: IMQTT_ADMIN_ADDRESS=0.0.0.0:18083
# and give Prometheus that token (or set IMQTT_ADMIN_TOKEN_FILE).
ENV IMQTT_NODE_DATA_DIR=/data \
    IMQTT_LISTENERS_TCP_ADDRESS=0.0.0.0:1883 \
    IMQTT_LISTENERS_WS_ADDRESS=0.0.0.0:8083 \
    IMQTT_ADMIN_ADDRESS=127.0.0.1:18083
USER nonroot:nonroot
WORKDIR /data
VOLUME /data
# MQTT, MQTT over TLS, WebSocket, secure WebSocket, admin HTTP (metrics, API).
EXPOSE 1883 8883 8083 8084 18083
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["/usr/local/bin/imqttd", "ctl", "--timeout", "4s", "health"]
ENTRYPOINT ["/usr/local/bin/imqttd"]
CMD ["serve", "--log-format", "json"]
