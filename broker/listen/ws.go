package listen

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// wsSubprotocol is the WebSocket subprotocol of MQTT [MQTT-6.0.0-3].
const wsSubprotocol = "mqtt"

// newUpgrader returns the upgrader of ws and wss listeners. Any Origin is allowed:
// MQTT authenticates in CONNECT, not with ambient browser credentials.
func newUpgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		Subprotocols:      []string{wsSubprotocol},
		CheckOrigin:       func(*http.Request) bool { return true },
		EnableCompression: false,
	}
}

// wsConn presents a WebSocket connection as the MQTT byte stream: binary messages
// are concatenated on Read (a packet may span messages and a message may hold
// several packets [MQTT-6.0.0-2]), each Write is one binary message.
// Read is for one goroutine, Write for one at a time (mochi serialises writes);
// the deadline setters may run concurrently with both.
type wsConn struct {
	ws *websocket.Conn
	r  io.Reader // the message being read, nil between messages
	// wd is the write deadline in Unix nanoseconds (0: none). websocket.Conn keeps
	// its write deadline in a plain field read by the writer, so it is only set
	// from Write; setters store it here and set the socket's deadline directly so
	// a write in progress sees it too.
	wd atomic.Int64
}

// Read reads from the current binary message, moving on to the next one at its end.
func (w *wsConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if w.r == nil {
			typ, r, err := w.ws.NextReader()
			if err != nil {
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, ErrNotBinary // [MQTT-6.0.0-1]
			}
			w.r = r
		}
		n, err := w.r.Read(p)
		if errors.Is(err, io.EOF) {
			w.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Write sends p as one binary message.
func (w *wsConn) Write(p []byte) (int, error) {
	var d time.Time
	if ns := w.wd.Load(); ns != 0 {
		d = time.Unix(0, ns)
	}
	_ = w.ws.SetWriteDeadline(d)
	if err := w.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close closes the underlying connection without a close frame (the guarded
// conn's graceful close sends one).
func (w *wsConn) Close() error { return w.ws.NetConn().Close() }

// LocalAddr returns the local address.
func (w *wsConn) LocalAddr() net.Addr { return w.ws.LocalAddr() }

// RemoteAddr returns the peer address.
func (w *wsConn) RemoteAddr() net.Addr { return w.ws.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (w *wsConn) SetDeadline(t time.Time) error {
	if err := w.SetReadDeadline(t); err != nil {
		return err
	}
	return w.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (w *wsConn) SetReadDeadline(t time.Time) error { return w.ws.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline of the next frames and of a write in
// progress.
func (w *wsConn) SetWriteDeadline(t time.Time) error {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	w.wd.Store(ns)
	return w.ws.NetConn().SetWriteDeadline(t)
}
