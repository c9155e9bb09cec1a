# imqtt: developer entry points. `make run` and `make test` are the README's two commands.
SHELL     := /bin/bash
GO        ?= go
BIN       ?= bin/imqttd
PKGS      ?= ./...
TESTFLAGS ?= -race -count=1 -timeout 30m
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)

.PHONY: all build run test test-js lint bench bench-go fuzz conformance crashtest clustertest cluster clean

all: lint build test

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/imqttd

# Runs the broker on its embedded default: one node, data under ./data, loopback listeners.
run: build
	./$(BIN) serve

test:
	$(GO) test $(TESTFLAGS) $(PKGS)
	$(MAKE) test-js

# The JavaScript SDK (sdk/js): a clean install from its lock file, the build, the
# type check of the consumer example and node --test against a real bin/imqttd.
test-js: build
	cd sdk/js && npm ci --no-audit --no-fund && npm run build && IMQTTD_BIN=$(CURDIR)/$(BIN) npm test

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# Every figure of docs/BENCHMARKS.md (about an hour; installs mosquitto if absent):
# Go micro-benchmarks, imqttd vs mosquitto, durable, IM, cluster (tools/benchall.sh).
bench:
	tools/benchall.sh $(BENCH_OUT)

# Go micro-benchmarks of the hot paths only.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Short fuzzing pass over every fuzz target (FUZZTIME per target).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Crash test (kill -9 under QoS 1/2 load, restart, drain; counts acked-lost, QoS 2
# duplicates, unexpected messages). CRASH_ITERATIONS iterations (CI runs 5).
CRASH_ITERATIONS ?= 5
crashtest:
	CRASH_ITERATIONS=$(CRASH_ITERATIONS) $(GO) test -tags crash -race -count=1 -timeout 60m -run TestCrashLoop -v ./cmd/imqttd/ 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|crash_test.go'; exit $${PIPESTATUS[0]}

# Cluster node-loss test (3 imqttd processes, kill -9 the leader or a random node
# under cross-node QoS 1 load and IM chat, restart, drain; counts acked-lost and
# IM seq gaps/duplicates). CLUSTER_ITERATIONS iterations (CI runs 3).
CLUSTER_ITERATIONS ?= 3
clustertest:
	CLUSTER_ITERATIONS=$(CLUSTER_ITERATIONS) $(GO) test -tags crash -race -count=1 -timeout 60m -run 'TestClusterNodeLoss|TestClusterPartition|TestClusterPresence' -v ./cmd/imqttd/ 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|cluster_.*test.go'; exit $${PIPESTATUS[0]}

# Three nodes on 127.0.0.1 (tools/cluster.sh; docs/cluster.md). Ctrl-C stops them.
cluster: build
	tools/cluster.sh

# Eclipse Paho interoperability suite (needs PAHO_TESTING_GITDIR: a git mirror of eclipse/paho.mqtt.testing).
conformance: build
	tools/conformance.sh

clean:
	rm -rf bin data
