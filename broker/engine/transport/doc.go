// Package transport is the engine's connection layer: it accepts MQTT
// connections on tcp (tls, ws and wss follow), frames the byte stream into MQTT
// packets and hands them to a Handler (the engine's protocol layer), and writes
// what the Handler queues. It owns the listeners' sockets, the worker pools and
// every connection's goroutines; it knows nothing of MQTT beyond the fixed
// header.
//
// # Model (docs/engine.md)
//
// Each connection has one goroutine, its reader, parked in the netpoller with a
// 1-byte MSG_PEEK (no buffer held while idle). When the socket is readable the
// reader hands the connection to a worker (a bounded pool) and waits on the
// connection's 1-slot done channel. The worker reads without blocking into a
// pooled 4 KiB buffer until EAGAIN, frames packets (refusing one above
// MaxPacketSize from its fixed header), calls Handler.Packet for each, and at the
// end of the batch flushes every connection touched in the batch once (one
// writev). A packet that straddles reads is kept as an exact-size copy.
// Output that the socket does not take stays pending (bounded by
// MaxPendingBytes) and a short-lived writer goroutine writes it with blocking
// writes under WriteTimeout, then exits.
//
// # Lifecycle
//
// New binds the listeners; Start starts the pools and accept loops; Close stops
// accepting, closes every connection with ErrServerClosed (flushing pending
// output), waits for the readers (each calls Handler.Closed), then the workers,
// then the writers. Close is idempotent and safe without Start.
//
// Per connection: accept -> Guard admission -> (handshake worker: pre-handshake
// step, TLS, WebSocket) -> Handler.Open on a worker -> read batches ->
// Handler.Closed on the reader, exactly once, after the socket is closed.
//
// Keepalive is the socket's read deadline: ConnectTimeout from accept until the
// first complete packet, then what Conn.SetReadTimeout set (re-armed after each
// batch). A deadline wakes the reader, which closes with ErrConnectTimeout or
// ErrKeepalive.
//
// # API changes from the brief
//
// Added: QueueResult.String, ErrInvalidConfig, ErrNilHandler, ErrNilGuard,
// ErrUnknownListener, MaxPacketSizeLimit and the Default* constants.
// MaxPacketSize is a total size (fixed header included), as MQTT 5's Maximum
// Packet Size.
package transport
