package listen

import (
	"context"
	"crypto/tls"
	"sync"
)

// tlsServerConn is the server side of a TLS connection on an admitted socket. The
// handshake runs once: explicitly with a deadline (tls listeners, before mochi
// sees the connection) or on the first Read or Write (wss, inside the HTTP
// server, bounded by its ReadHeaderTimeout). A failed handshake is reported once
// as a tls_handshake rejection.
type tlsServerConn struct {
	*tls.Conn
	raw    *admittedConn
	onFail func(remote string, err error)

	once sync.Once
	err  error
}

func newTLSServerConn(raw *admittedConn, cfg *tls.Config, onFail func(string, error)) *tlsServerConn {
	return &tlsServerConn{Conn: tls.Server(raw, cfg), raw: raw, onFail: onFail}
}

// handshake runs the TLS handshake once and returns its result.
func (c *tlsServerConn) handshake(ctx context.Context) error {
	c.once.Do(func() {
		c.err = c.Conn.HandshakeContext(ctx)
		if c.err != nil && c.onFail != nil {
			c.onFail(c.raw.RemoteAddr().String(), c.err)
		}
	})
	return c.err
}

// Read completes the handshake first.
func (c *tlsServerConn) Read(p []byte) (int, error) {
	if err := c.handshake(context.Background()); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// Write completes the handshake first.
func (c *tlsServerConn) Write(p []byte) (int, error) {
	if err := c.handshake(context.Background()); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
