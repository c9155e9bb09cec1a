// Package proxyhdr reads the PROXY protocol header (HAProxy's, versions 1 and
// 2) that a load balancer sends before the client's bytes, and decides which
// peers may send one. It is the one place imqtt parses PROXY headers: the
// listeners of broker/listen use it today, the engine's transport will too.
// Parsing is github.com/pires/go-proxyproto's; this package adds the deadline,
// the trust policy, a small Header and the bytes read past the header.
//
// # What it owns
//
// Nothing long-lived: Read runs on the caller's goroutine, owns nothing after
// it returns and starts no goroutine. The caller owns the connection before,
// during and after Read (Read never closes it).
//
// # Use
//
//	pol, err := proxyhdr.NewPolicy(cfg.ProxyTrusted, cfg.ProxyUntrusted) // at config time
//	switch pol.Decide(peerIP) {                                          // per connection
//	case proxyhdr.Refuse:   close the socket
//	case proxyhdr.Plain:    serve it with its socket address
//	case proxyhdr.Expect:
//		h, rest, err := proxyhdr.Read(conn, timeout)
//		// err != nil: close the socket. Else serve conn with rest replayed
//		// first and h.Source (when valid) as the client's address.
//	}
//
// # Trust
//
// A PROXY header is a claim about who the client is; only a load balancer the
// operator trusts may make it. A listener with PROXY protocol on therefore has
// a non-empty list of trusted addresses (CIDR prefixes or single IPs; the
// socket's peer address is checked, IPv4-mapped IPv6 as IPv4):
//
//   - a trusted peer must send a header (Expect). A trusted peer that sends
//     none, or a malformed one, or not within the timeout, is closed: this is
//     what haproxy's accept-proxy, nginx's "listen ... proxy_protocol" and
//     mosquitto's enable_proxy_protocol do, and a load balancer that forgot
//     send-proxy is a configuration error better seen at once than a broker
//     that silently counts every client as the load balancer;
//   - an untrusted peer is never read as sending a header. With the default
//     policy (UntrustedRefuse) it is refused at once: a PROXY listener is the
//     load balancer's port. With UntrustedPlain it is served as a plain
//     connection under its socket address (like haproxy's "tcp-request
//     connection expect-proxy layer4 if { src -f trusted.lst }"): direct
//     clients and the load balancer share the port, and a header sent by an
//     untrusted peer is just bytes of the MQTT stream, which the listener's
//     first-packet check refuses (it is not a CONNECT).
//
// # Header
//
// Version 1 (text) and version 2 (binary) are both accepted on every PROXY
// listener, as haproxy does. A v2 LOCAL command (the proxy's own connection,
// such as a health check) and a v1 "PROXY UNKNOWN" line carry no client
// address: Header.Local is set, Header.Source is invalid and the caller keeps
// the socket's address. A v2 header for an AF_UNIX client has no IP address
// either (Source invalid). TLVs (v2 type-length-value extensions: ALPN, SNI,
// the proxy's TLS details) are read and ignored. A v2 header is at most 16 +
// 4096 bytes (go-proxyproto's MaxV2HeaderSize, not changed here); a v1 line at
// most 107 bytes, which must arrive in one read (the specification asks senders
// to send the header at once; go-proxyproto refuses a v1 line split across
// reads rather than wait for it byte by byte).
//
// # Deadline
//
// Read sets the connection's read deadline to now + timeout before its first
// read and clears it (zero) before returning. A peer that sends nothing, or a
// truncated header, is cut at the deadline with an error wrapping ErrTimeout.
//
// # Bytes past the header
//
// Read reads through a small buffer (256 bytes), so it may read bytes past the
// header: the start of the MQTT CONNECT, or of the TLS ClientHello. It returns
// them (at most 256 bytes, in a slice of their own); the caller must hand them
// on before anything else read from the connection.
package proxyhdr
