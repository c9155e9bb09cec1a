package listen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
)

// serveTCP runs one client of a tcp or tls listener: the PROXY header (proxy.go)
// where configured, the TLS handshake (bounded by the connect deadline), then
// mochi.
func (l *Listener) serveTCP(c net.Conn) {
	defer l.sessionEnd()
	var (
		raw *admittedConn
		tc  *tlsServerConn
	)
	switch v := c.(type) {
	case *admittedConn:
		raw = v
		if l.proxy != nil {
			if !l.proxyStep(raw) {
				return
			}
			if l.tlsCfg != nil {
				tc = newTLSServerConn(raw, l.tlsCfg, l.tlsFailed)
			}
		}
	case *tlsServerConn:
		raw, tc = v.raw, v
	default:
		_ = c.Close()
		return
	}
	if tc != nil {
		deadline := raw.accepted.Add(l.g.lim.ConnectTimeout)
		_ = raw.SetDeadline(deadline)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := tc.handshake(ctx)
		cancel()
		if err != nil {
			_ = raw.Close()
			return
		}
		l.run(newConn(l, tc.Conn, raw, tc.Conn, nil))
		return
	}
	l.run(newConn(l, raw, raw, nil, nil))
}

// serveWS is the HTTP handler of ws and wss listeners: it upgrades requests for
// the configured path and runs mochi on the WebSocket.
func (l *Listener) serveWS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != l.path {
		http.NotFound(w, r)
		return
	}
	ws, err := l.upgrader.Upgrade(w, r, nil)
	if err != nil {
		l.log.Debug().Err(err).Str(fieldRemote, r.RemoteAddr).Msg("websocket upgrade failed")
		return // the upgrader has answered
	}
	var (
		raw *admittedConn
		tc  *tlsServerConn
	)
	switch v := ws.NetConn().(type) {
	case *admittedConn:
		raw = v
	case *tlsServerConn:
		raw, tc = v.raw, v
	default:
		_ = ws.NetConn().Close()
		return
	}
	if !l.sessionStart() {
		_ = raw.Close()
		return
	}
	defer l.sessionEnd()
	l.run(newConn(l, &wsConn{ws: ws}, raw, tlsOf(tc), ws))
}

// run hands the connection to mochi and contains a panic in the client's session:
// it is logged with its stack, counted, the connection is closed and OnPanic runs.
func (l *Listener) run(c *conn) {
	if !l.track(c) {
		_ = c.Close()
		return
	}
	l.mu.Lock()
	establish := l.establish
	l.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			l.recovered(c, v, debug.Stack())
		}
		_ = c.Close()
	}()
	if err := establish(l.id, c); err != nil {
		l.log.Debug().Err(err).Str(fieldRemote, c.remote()).Msg("client session ended")
	}
}

func (l *Listener) recovered(c *conn, v any, stack []byte) {
	l.log.Error().Str(fieldRemote, c.remote()).Str(fieldPanic, fmt.Sprint(v)).Str(fieldStack, string(stack)).
		Msg("panic while serving a client; connection closed")
	l.g.obs.Panic(l.id)
	_ = c.Close()
	if l.onPanic == nil {
		return
	}
	defer func() {
		if v2 := recover(); v2 != nil {
			l.log.Error().Str(fieldPanic, fmt.Sprint(v2)).Str(fieldStack, string(debug.Stack())).
				Msg("panic in the on-panic callback")
		}
	}()
	l.onPanic(l.id, c, v)
}

func tlsOf(tc *tlsServerConn) *tls.Conn {
	if tc == nil {
		return nil
	}
	return tc.Conn
}
