// Package engine is imqtt's MQTT protocol layer (issue 17): CONNECT and
// authentication, keepalive, takeover, clean and persistent in-memory
// sessions with Session Expiry, subscriptions (shared ones included),
// QoS 0/1/2 in both directions with in-flight windows, retained messages,
// wills with Will Delay, topic aliases, message expiry, maximum packet size
// and the server's DISCONNECT reasons. mochi's packets package is the wire
// codec; the connection layer is package transport (reader, workers,
// batched writes, back-pressure primitives).
//
// # What it owns
//
// The session table (sessions.go), each session's state (session.go:
// subscriptions, the outbound window and queue, inbound QoS 2 ids, a
// delayed will), the subscription and retained index (topics.go, behind the
// small interface index), and the per-connection protocol state (client.go,
// stored in transport.Conn.Data).
//
// # Call order
//
//	e, err := engine.New(cfg, engine.Options{Auth: a, ACL: z, Log: log})
//	srv, err := transport.New(tcfg, guard, e, log) // e is the Handler
//	srv.Start()
//	...
//	e.Close(ctx)   // DISCONNECT 0x8B to v5 clients, stop the sweeper
//	srv.Close(ctx) // then the sockets and the transport's goroutines
//
// The broker sets transport.Config.MaxPacketSize to Config.MaxPacketSize so
// oversized packets are refused at the fixed header (Malformed answers v5
// clients with DISCONNECT 0x95); Packet checks it again.
//
// The transport calls Open, then Packet for each packet in order (the
// first must be CONNECT), Malformed when the framer refuses the stream, and
// Closed once. Packet runs on a transport worker, so Authenticate (which may
// block) never grows an idle connection's stack.
//
// # Goroutines
//
//	sweeper       one per engine; New starts it, Close stops it (e.done), e.wg
//	drain waiter  one per slow session at most (inflight.go startDrain); ends
//	              when the connection drains, detaches or the engine closes; e.wg
//
// Everything else runs on the transport's goroutines: no goroutine and no
// timer per client (keepalive is the socket's read deadline).
//
// # Locks
//
// Lock order: Engine.mu (the session table) -> session.mu -> the index's
// lock. The index never calls back under its lock (match and retained
// return slices), so delivery locks one target session at a time and never
// two sessions at once. Authorizer and Observer calls may run under
// session.mu (their contract: fast, non-blocking); Authenticator never does.
//
// # Errors
//
// Handlers return sentinels of errors.go wrapped with context; reasonCode
// maps them to the v5 reason code of the server's DISCONNECT in one place
// (engine.go Packet), and 3.1.1 clients are closed without one.
//
// # Memory
//
// An idle connected session with one subscription holds a client (~200 B),
// a session (~200 B), one map entry and its trie node: maps and queues are
// created on first use and dropped when empty.
package engine
