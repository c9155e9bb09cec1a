// Package transport is the engine's connection layer. It owns the listeners'
// sockets (tcp, tls, ws, wss), the worker pools and every connection's
// goroutines; it frames the inbound byte stream into MQTT packets (fixed header
// only: it knows nothing else of MQTT) for a Handler, the engine's protocol
// layer, and writes what the Handler queues. The model and why it was chosen:
// docs/engine.md; invariants and lock order: DESIGN.md in this directory.
//
// # Lifecycle
//
// New validates the Config, loads TLS material and binds every listener (port 0
// picks a free port: Addr). Start starts the pools and the accept loops. Close
// stops accepting, closes every connection with ErrServerClosed (each flushes its
// pending output, then a TLS close_notify on tls and wss, a blocked writer
// bounded by WriteTimeout; a handler that wants to send DISCONNECT 0x8B queues
// it before calling Close), cuts every close linger (below), waits for the readers
// (each calls Handler.Closed), then stops the pollers and the deadline wheel
// (epoll), then the pools, then waits for the writers.
// If Close's ctx ends first every socket is closed at once. Close is idempotent
// and safe without Start.
//
// Per connection: accept -> listen.Guard admission (refused: closed, or on tcp
// answered with a CONNACK by the Guard; PROXY listeners: MaxConnections only) ->
// handshake worker (the PROXY protocol header, the TLS handshake, the WebSocket
// upgrade, all under the one connect deadline) -> Handler.Open on a worker ->
// read batches -> Handler.Closed, once, on the reader (epoll: the finish
// goroutine), after the writer exited and the socket was closed or
// half-closed -> the close linger -> the socket is closed and the Guard slot
// released.
//
// # Waiting for input: Config.Poller
//
// "goroutine": each connection has a reader goroutine that parks in the
// runtime's netpoller (a 1-byte MSG_PEEK; reader.go) and hands the connection
// to a worker each time it is readable. "epoll" (the default on Linux): no
// goroutine per idle connection; GOMAXPROCS/4 (at least 1) epoll goroutines
// hand ready connections straight to the workers (EPOLLONESHOT, re-armed after
// each batch), read deadlines live in a 20 ms timer wheel, and a connection's
// finish runs on a goroutine of its own once it ends. The state machine and
// why one-shot: poller.go; the wheel: deadline.go. Both paths share the
// worker, read, write, back-pressure and close code.
//
// # Close linger
//
// A graceful close (Conn.Close, and every close the Handler causes by an error
// or Malformed) writes the pending output, then half-closes the socket (FIN)
// and, on the reader after Handler.Closed, discards unread input until the
// client's EOF or Config.CloseLinger (1 s), so the kernel does not answer
// unread input with a reset that can destroy the output (a DISCONNECT 0x95
// after an oversized packet) before the client reads it. No worker and no
// buffer are held while lingering; at most Config.MaxLingering sockets linger
// (beyond, they close at once); Server.Close cuts every linger after one last
// discard. Details: linger.go. ReloadTLS re-reads a tls or wss listener's
// certificate for new handshakes.
//
// # TLS memory
//
// A tls.Conn keeps for life the record and handshake buffers its handshake
// grew. The layer reads the client's first plaintext handshake record itself
// and hands crypto/tls the ClientHello re-cut into records of at most 507
// bytes (tlshello.go): the record buffer stays at 576 bytes instead of the
// ClientHello plus 512 (2 KiB for a 1.5 KB X25519MLKEM768 hello), the
// handshake buffer at the hello's size. A client record larger than 507 bytes
// after the handshake still grows the record buffer for the connection's life
// (crypto/tls decrypts a record whole; ciphertext cannot be re-cut).
//
// # PROXY protocol
//
// tcp and tls listeners with proxy_protocol (listen.Config: proxy_trusted,
// proxy_untrusted) behave as broker/listen's (its doc.go; proxy.go here): an
// untrusted peer is refused (reason proxy_untrusted) or served plain; a trusted
// one must send a v1 or v2 header before anything else (proxy_header,
// connect_timeout); the header's client address is Conn.Remote and the per-IP
// limits are applied to it (a tcp refusal is answered with a CONNACK). Open is
// called only for connections that passed. The bytes read past the header are
// handed on first (to TLS, or to the framer).
//
// # Callers must
//
//   - Queue with the Batch they were given inside Packet and Malformed; with nil
//     elsewhere. Pause only from a Handler call for that connection.
//   - Treat body as valid only during Packet.
//   - Back off on QueuedFull/Refused (Pause the producer on DrainSignal).
//   - Call SetReadTimeout after CONNECT (keepalive * 1.5), or the connection has
//     no read timeout once its first packet arrived.
//
// # Goroutines
//
//	goroutine               started by         stops when                          waited for by
//	accept loop, 1/listener Start              its listener closes (Close)          Close
//	reader, 1/connection    the accept loop    the socket closes, errors, times out Close (readers WaitGroup)
//	  (goroutine poller)                       (then lingers: EOF, CloseLinger, Close)
//	epoll loop, GOMAXPROCS/4 Start             Close writes its stop eventfd        Close, after the readers
//	deadline wheel, 1       Start              Close closes its stop channel        Close, after the readers
//	hand-off (epoll)        accept with no     a worker or handshake worker took    Close (readers WaitGroup)
//	                        idle worker; pause the connection
//	finish (epoll),         whoever ends the   Closed, the linger and the socket    Close (readers WaitGroup)
//	  1/ending connection   connection         close are done
//	worker, Workers         Start              Close closes the work channel        Close, after the readers
//	handshake worker        Start              Close closes the handshake channel   Close, after the readers
//	writer, 1/busy conn     a flush that found pending is empty, a write fails    the reader's exit; Close
//	                        the socket full    or WriteTimeout passes
//
// # Keepalive
//
// The read deadline: the ConnectTimeout from accept until the first complete
// packet, then what SetReadTimeout set, re-armed after every batch and every
// pause. goroutine poller: the socket's read deadline (the timer lives in the
// runtime's pollDesc) wakes the reader. epoll: the deadline wheel (deadline.go,
// up to 20 ms late) takes an armed connection, and a connection that was on a
// worker or paused checks its deadline before it is armed again. Either closes
// with ErrConnectTimeout or ErrKeepalive. The handshake's blocking reads use
// the socket's deadline in both modes.
//
// # API changes from the task brief
//
// Added: QueueResult.String, ErrWebSocket, ErrInvalidConfig, ErrNilHandler,
// ErrNilGuard, MaxPacketSizeLimit and the Default* constants; later
// Server.ReloadTLS, ErrUnknownListener, ErrProxyUntrusted, ErrProxyHeader and
// ErrRefused; Config.Poller (session 9). MaxPacketSize is a
// total size (fixed header included), as MQTT 5's Maximum Packet Size. Pause
// stops the framer right after the Packet call that paused (the rest of the read
// is kept), not only at the end of the batch.
package transport
