// Command connproto is a measurement prototype, not the engine. It exists to decide
// the connection model of imqtt's MQTT engine (issue 17, docs/engine.md) by
// measuring memory per idle subscribed connection, and it will be deleted or kept
// as a regression harness once the engine lands; nothing imports it.
//
// It holds idle subscribed MQTT 3.1.1 / 5.0 clients exactly as the engine must:
// packets are decoded with github.com/mochi-mqtt/server/v2/packets (the codec the
// engine keeps); CONNECT gets CONNACK, SUBSCRIBE gets SUBACK (recorded in a small
// per-client struct: client id, protocol version, keepalive deadline, subscription
// map), PINGREQ gets PINGRESP, DISCONNECT closes. Nothing is routed: there is no
// PUBLISH delivery, no session store, no authentication.
//
// Two connection models (-model):
//
//	rawconn  one goroutine per connection on Go's netpoller. It waits for
//	         readability through syscall.RawConn.Read with a 1-byte MSG_PEEK on
//	         its stack, so a parked connection holds no buffer; only then does it
//	         take a 4 KiB read buffer from a sync.Pool, read without blocking,
//	         decode, answer with one write per read batch and return the buffer
//	         (rawconn.go). With -handoff the parked goroutine does only the
//	         waiting: the TLS handshake and every read batch run on a pool of
//	         workers (4 per CPU), so the parked goroutines keep the minimum stack.
//	nbio     an event loop on github.com/lesismal/nbio: one poller goroutine per
//	         CPU reads ready sockets into buffers from the same pool and calls
//	         back (nbio.go). No goroutine per connection.
//
// In both, the bytes of a packet that straddles two reads are copied into the
// client (client.partial) until the rest arrives; an idle client holds none.
// Responses of one read batch are encoded into a pooled buffer and written once.
//
// -tls serves TLS (crypto/tls, an in-memory self-signed ECDSA P-256 certificate)
// in the rawconn model: the handshake runs with blocking reads (on the connection's
// goroutine, or a worker with -handoff), then the connection is read without
// blocking: nbConn returns a temporary net.Error on EAGAIN, which crypto/tls does
// not make sticky (tlsconn.go). The nbio model has no -tls: nbio's TLS is a fork
// of an old crypto/tls (lesismal/llib), which docs/BENCHMARKS.md discusses.
//
// The CONNECT of a real broker does heavy work (bcrypt, JWT, a raft commit) on
// whatever goroutine handles it. -connect-stack BYTES simulates it: the CONNECT
// handler recurses through frames of 256 bytes until that much stack was used, so
// the rawconn goroutine's stack grows as it would (with -handoff it is a worker's;
// nbio runs it on a poller goroutine). The figures then show whether forced GCs
// shrink the stacks back.
//
// Stats: GET /stats on -stats-addr (loopback) or SIGUSR1 runs runtime.GC twice and
// debug.FreeOSMemory, then reports one JSON line (stdout for SIGUSR1, the body for
// HTTP): rss_kb (VmRSS of /proc/self/status), heap_inuse, stack_inuse,
// goroutines, conns, bufs_out (pooled buffers currently taken), partials
// (clients holding an incomplete packet) and pings (PINGREQs answered). The same
// listener serves /debug/pprof/ (heap profiles of the held connections).
//
// Life cycle: start listens and launches the model's goroutines; Close stops
// accepting, closes every connection and waits for every goroutine it started
// (the tests check the goroutine count returns to its baseline).
//
// Measuring (docs/BENCHMARKS.md, "Engine connection model"):
//
//	go build -o /tmp/connproto ./tools/connproto
//	/tmp/connproto -model rawconn -handoff -addr 127.0.0.1:1883 -stats-addr 127.0.0.1:6060 &
//	go run ./tools/imqtt-bench -scenario conns -pubs 19500 -subscribe -hold 60s
//	curl -s 127.0.0.1:6060/stats
//
// tools/connproto/measure.sh runs every case (and imqttd and mosquitto) in
// alternating rounds and prints the table of docs/BENCHMARKS.md.
package main
