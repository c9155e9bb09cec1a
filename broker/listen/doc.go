// Package listen holds what imqtt's listeners are made of, for the engine's
// transport (broker/engine/transport), which owns the sockets, the accept
// loops and the connections: the listener Config (tcp, tls, ws, wss, PROXY
// protocol settings) with its YAML keys, the connection Limits, the Guard
// that admits sockets, the TLS policy and certificate source (TLSSource),
// and the PROXY protocol reader (package proxyhdr). Until issue 17 it also
// held mochi's listeners.
//
// # What it owns
//
// A Guard, shared by all listeners of a broker, owns the connection counts
// and the per-IP token buckets, one goroutine that evicts idle entries and
// the goroutines answering refused tcp sockets (refuse.go). NewGuard starts
// it; Close (after the transport) stops it and is idempotent.
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
// debug, with a warning at most every 10 s. A socket that passes holds its
// slot (Slot) until it is released, exactly once. Per-IP entries with no open
// socket are dropped when their bucket is full again; the table is capped
// at 131072 addresses, beyond which new addresses are admitted without per-IP
// accounting (MaxConnections still applies). IPv4-mapped IPv6 addresses count as
// their IPv4 address. Keep MaxConnections below the process descriptor limit.
//
// # PROXY protocol
//
// proxyhdr reads a PROXY protocol v1 or v2 header within a deadline and
// decides, from Config.ProxyTrusted and ProxyUntrusted, what a peer gets
// (proxyhdr.Policy). The transport applies the per-IP limits to the client's
// address from the header (Slot.AdmitIP), so they count real clients.
//
// # TLS
//
// TLS 1.2 is the minimum; TLS 1.2 suites are ECDHE with AES-GCM or
// ChaCha20-Poly1305; key exchange uses X25519 (and X25519MLKEM768 in TLS 1.3),
// P-256 or P-384; no ALPN protocol is required. Client certificates: none,
// request (verified if sent) or require (mTLS), both against ClientCAFile.
// Certificates are served from an atomically swapped value: TLSSource.Reload
// re-reads certificate, key and client CAs; new handshakes use them, established
// connections are untouched, and on error the old material stays.
package listen
