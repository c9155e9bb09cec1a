// Package listen holds imqtt's MQTT network listeners: tcp, tls (TCP + TLS), ws
// (MQTT over WebSocket) and wss (WebSocket over TLS). They implement mochi's
// listeners.Listener and replace mochi's own TCP and WebSocket listeners, adding
// what those lack: an accept loop that survives errors, connection limits that
// bite before mochi sees a socket, a pre-CONNECT timeout and first-packet checks,
// graceful close, certificate reload and panic containment.
//
// # What it owns
//
// A Listener owns its bound socket, its accept loop (or, for ws and wss, its
// http.Server), the connections it has handed to mochi (to close the ones mochi
// does not know yet) and the short-lived goroutines that close connections
// gracefully. A Guard, shared by all listeners of a broker, owns the connection
// counts and the per-IP token buckets, one goroutine that evicts idle entries and
// the goroutines answering refused tcp sockets.
// mochi owns the client sessions.
//
// # Lifecycle
//
//	g := listen.NewGuard(limits, observer, log)      // once per broker
//	l, err := listen.New(cfg, g, log, listen.WithOnPanic(fn))
//	server.AddListener(l)  // mochi calls l.Init: binds; l.Address() is now the real address
//	server.Serve()         // mochi runs go l.Serve(server.EstablishConnection)
//	l.ReloadTLS()          // on SIGHUP, tls and wss only
//	server.Close()         // mochi calls l.Close(closeClients), then waits for its clients
//	g.Close()              // after every listener is closed
//
// New validates the Config and loads the TLS material (an unreadable or invalid
// certificate, key or CA file fails here, naming the field and the file). Init
// binds the socket. Serve accepts until Close; call it once. Close is idempotent
// and safe without Init or Serve: it stops accepting and waits for the accept
// loop, bounds pending writes to one second, calls closeClients(id) once (mochi
// sends DISCONNECT 0x8B to MQTT 5 clients), closes the connections still before
// CONNECT, and waits for the graceful closes it started (at most CloseLinger).
// It does not wait for client sessions; Wait(ctx) does, after Close.
//
// # Accept loop
//
// Accept errors (EMFILE and ENFILE at the descriptor limit, ENOBUFS, ENOMEM,
// ECONNABORTED, timeouts, anything else) never end the loop: each is reported
// to Observer.AcceptError, logged at warn at most every 10 s (with the count of
// the ones held back), and retried after a backoff that starts at 5 ms, doubles up
// to 1 s and resets on success. Only Close ends it. The ws and wss http.Server
// accept through the same loop.
//
// # Guard
//
// At accept time, before any TLS handshake or read, a socket is refused when the
// broker has Limits.MaxConnections sockets open, when its IP has PerIPConnections
// open, or when its IP has no token left in its bucket (PerIPRate per second,
// PerIPBurst deep). The per-IP limits are off by default (0): carrier-grade NAT
// and load balancers put many clients behind one address. On tls, ws and wss
// listeners the refused socket is closed at once. On tcp listeners it is handed
// to the Guard's answerer (refuse.go), which reads the CONNECT's fixed header,
// protocol name and level (within 2 s or ConnectTimeout), writes a CONNACK (MQTT
// 5: 0x9F Connection rate exceeded, 0x97 Quota exceeded for the address's
// sockets, 0x89 Server busy; 3.1 and 3.1.1: return code 3 Server unavailable),
// half-closes and drains for CloseLinger; at most 64 at once (beyond, closed at
// once), each on its own goroutine, closed and waited for by Guard.Close. Answering
// on tls or ws would take the handshake or upgrade the limit exists to save. Each
// rejection is reported to Observer.Rejected with a Reason* constant and logged at
// debug, with a warning at most every 10 s. A socket that passes holds its slot until the socket itself is
// closed (after the graceful close), released exactly once. Per-IP entries with
// no open socket are dropped when their bucket is full again; the table is capped
// at 131072 addresses, beyond which new addresses are admitted without per-IP
// accounting (MaxConnections still applies). IPv4-mapped IPv6 addresses count as
// their IPv4 address. Keep MaxConnections below the process descriptor limit.
//
// # PROXY protocol
//
// A tcp or tls listener with Config.ProxyProtocol sits behind load balancers
// that announce each client with a PROXY protocol header (v1 or v2; package
// proxyhdr reads it and documents the trust rules). At accept the Guard applies
// only MaxConnections (the socket's address is the load balancer's). Then, on
// the connection's own goroutine (proxyStep in proxy.go): a peer outside
// Config.ProxyTrusted is refused (reason proxy_untrusted; or, with
// ProxyUntrusted plain, served under its socket address and never read as
// sending a header); a trusted peer must send a header within ConnectTimeout
// (timeout: connect_timeout; no header or a malformed one: proxy_header; a
// socket closed before its first byte is not counted). The client's address
// from the header becomes the connection's RemoteAddr (mochi's cl.Net.Remote:
// logs, auth throttling, the admin API); a LOCAL header (the proxy's own check)
// keeps the socket's. Then the per-IP limits are applied to the client's
// address (a refusal on tcp is answered with a CONNACK, as at accept), and the
// TLS handshake of tls listeners starts, on the bytes after the header. The
// connect deadline covers the header, the handshake and the CONNECT together.
//
// # Connections
//
// Every connection handed to mochi is wrapped (after TLS and the WebSocket
// upgrade):
//
//   - Connect timeout: a read deadline of accept time + ConnectTimeout is set
//     before mochi reads (mochi sets none until after CONNECT); it covers the TLS
//     handshake, the WebSocket upgrade and the CONNECT packet. mochi's own
//     SetDeadline (the keepalive, set after CONNECT) replaces it; from then on a
//     timeout is mochi's. A timeout before that is counted as connect_timeout.
//   - First packet: as the bytes pass through Read, the first byte must be 0x10
//     (CONNECT) and the remaining length (1 to 4 bytes) at most MaxFirstPacket;
//     otherwise Read returns ErrFirstPacketNotConnect, ErrFirstPacketTooLarge or
//     ErrMalformedLength before mochi sees the bytes (so it allocates nothing) and
//     the connection is closed. Without Limits.MaxPacketSize nothing is parsed
//     after the first fixed header.
//   - Packet size: with Limits.MaxPacketSize set (the broker sets it from its
//     limits.max_packet_size; 0 is off), Read follows the packet boundaries of the
//     whole stream (fixed header byte, remaining length, body skipped unread) and
//     reads the protocol level from the CONNECT's variable header. A packet after
//     CONNECT whose total size (1 + length bytes + remaining length) exceeds the
//     limit, or whose remaining length runs past 4 bytes, is refused before mochi
//     sees any byte of it: Read hands on the packets before it, then (on the next
//     call) an MQTT 5 client gets DISCONNECT 0x95 (packet too large) or 0x81
//     (malformed) [MQTT-4.13.2-1], written through the same path as mochi's writes
//     (one WebSocket binary message for ws and wss) under the connection's write
//     lock, so it cannot interleave with a mochi write and nothing follows it;
//     MQTT 3.1 and 3.1.1 clients get no packet. Then Read returns
//     ErrPacketTooLarge or ErrMalformedLength, mochi ends the session (sending the
//     will) and the connection closes gracefully. Counted as packet_too_large or
//     malformed_length, logged at debug. While tracking, an incomplete fixed
//     header is held back until it is complete. Give mochi's
//     Capabilities.MaximumPacketSize the same value: CONNACK announces it, and
//     mochi's own check (1 + remaining length, without the length bytes) is then
//     never the one that fires, as it would close without a DISCONNECT.
//   - Graceful close: Close returns at once. It wakes a blocked reader and hands
//     the socket to a linger goroutine that sends what applies (a WebSocket close
//     frame, TLS close_notify), half-closes the TCP socket so the peer reads
//     everything written before (such as a DISCONNECT 0x93 or 0x8E) and then EOF,
//     drains unread input until the peer closes or CloseLinger (200 ms) passes,
//     and closes the socket. Closing a socket with unread input would send RST,
//     which may destroy the DISCONNECT in flight. Close is idempotent.
//   - ConnectionState(conn) gives the TLS state (peer certificates) of tls and
//     wss connections to hooks.
//
// # TLS
//
// TLS 1.2 is the minimum; TLS 1.2 suites are ECDHE with AES-GCM or
// ChaCha20-Poly1305; key exchange uses X25519 (and X25519MLKEM768 in TLS 1.3),
// P-256 or P-384; no ALPN protocol is required. Client certificates: none,
// request (verified if sent) or require (mTLS), both against ClientCAFile.
// Certificates are served from an atomically swapped value: ReloadTLS re-reads
// certificate, key and client CAs; new handshakes use them, established
// connections are untouched, and on error the old material stays.
//
// # WebSocket
//
// ws and wss serve HTTP/1.1 upgrades on Config.Path (default /mqtt) with the
// "mqtt" subprotocol and binary messages; text messages end the connection
// (ErrNotBinary). Any Origin is accepted. The upgrade request must arrive within
// ConnectTimeout (ReadHeaderTimeout) and its header is capped at 16 KiB.
//
// # Panics
//
// mochi has no recover: a panic while serving one client (mochi #501, a truncated
// MQTT 5 SUBSCRIBE) would take the process down. The listener runs mochi's
// EstablishFn under recover: the panic is logged at error with its stack,
// Observer.Panic is counted, the connection is closed and the OnPanic callback
// runs, so the broker can clean mochi's client table. Panics on mochi's other
// goroutines (its write loop, its event loop) are not contained.
package listen
