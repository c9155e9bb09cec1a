package transport

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Close status codes sent to a client (RFC 6455 7.4.1).
const (
	wsStatusProtocol    = 1002
	wsStatusUnsupported = 1003
)

// wsLayer is a WebSocket connection's state (ws and wss only).
type wsLayer struct {
	dec   wsDecoder
	pre   []byte  // bytes read past the upgrade request: decoded before the socket
	plain pending // MQTT bytes queued, framed at flush; guarded by Conn.wmu
}

// upgradeWS reads the HTTP upgrade request (blocking, under the connect deadline;
// after TLS for wss) and answers 101. Bytes the client sent after the request
// are kept and decoded first. The request is parsed by net/http; the handshake
// is RFC 6455 4.2.
func (s *Server) upgradeWS(c *Conn) error {
	var rw io.ReadWriter = c.tc
	if c.tl != nil {
		rw = c.tl.conn
	}
	_ = c.tc.SetWriteDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	defer func() { _ = c.tc.SetWriteDeadline(time.Time{}) }()
	br := bufio.NewReaderSize(rw, 2048)
	req, err := http.ReadRequest(br)
	if err != nil {
		return fmt.Errorf("websocket upgrade: %w", err)
	}
	_ = req.Body.Close()
	status, proto, err := checkUpgrade(req, c.l.cfg.Path)
	if err != nil {
		_, _ = io.WriteString(rw, "HTTP/1.1 "+status+"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return err
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	if proto != "" {
		resp += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	if _, err := io.WriteString(rw, resp+"\r\n"); err != nil {
		return fmt.Errorf("websocket upgrade: %w", err)
	}
	w := &wsLayer{}
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		w.pre = append([]byte(nil), p...)
	}
	c.wmu.Lock()
	c.ws = w
	c.wmu.Unlock()
	return nil
}

// checkUpgrade validates an upgrade request and picks the subprotocol (mqtt, or
// mqttv3.1 for old clients; none if the client offered none). On error it
// returns the HTTP status to answer.
func checkUpgrade(req *http.Request, path string) (status, proto string, err error) {
	if path == "" {
		path = "/mqtt"
	}
	switch {
	case req.Method != http.MethodGet:
		return "405 Method Not Allowed", "", errors.New("websocket upgrade: not a GET")
	case req.URL.Path != path:
		return "404 Not Found", "", fmt.Errorf("websocket upgrade: path %q", req.URL.Path)
	case !headerHas(req.Header, "Connection", "upgrade") || !headerHas(req.Header, "Upgrade", "websocket"):
		return "400 Bad Request", "", errors.New("websocket upgrade: not an upgrade request")
	case req.Header.Get("Sec-WebSocket-Version") != "13":
		return "426 Upgrade Required\r\nSec-WebSocket-Version: 13", "", errors.New("websocket upgrade: version")
	case len(req.Header.Get("Sec-WebSocket-Key")) != 24:
		return "400 Bad Request", "", errors.New("websocket upgrade: bad key")
	}
	offered := false
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			offered = offered || p != ""
			if p == "mqtt" || p == "mqttv3.1" {
				return "", p, nil
			}
		}
	}
	if offered {
		return "400 Bad Request", "", errors.New("websocket upgrade: no mqtt subprotocol offered")
	}
	return "", "", nil
}

// headerHas reports whether a comma-separated header contains token (any case).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), token) {
				return true
			}
		}
	}
	return false
}

// encodeWSLocked frames the queued MQTT bytes as binary frames into the next
// layer (TLS plaintext or the socket's pending). Caller holds c.wmu.
func (c *Conn) encodeWSLocked() {
	w := c.ws
	next := &c.out
	if c.tl != nil {
		next = &c.tl.plain
	}
	var vs [16][]byte
	for w.plain.n > 0 {
		views := w.plain.views(vs[:0])
		n := 0
		for _, v := range views {
			n += len(v)
		}
		var hb [10]byte
		next.add(appendWSHeader(hb[:0], wsBinary, n), &c.s.chunks)
		for _, v := range views {
			next.add(v, &c.s.chunks)
		}
		w.plain.consume(n, &c.s.chunks)
		clear(vs[:])
	}
}

// wsControl queues a control frame after what is queued so far.
func (c *Conn) wsControl(b *Batch, op byte, payload []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wflags&wClosing != 0 {
		return
	}
	c.encodeWSLocked()
	next := &c.out
	if c.tl != nil {
		next = &c.tl.plain
	}
	var hb [10]byte
	next.add(appendWSHeader(hb[:0], op, len(payload)), &c.s.chunks)
	next.add(payload, &c.s.chunks)
	if c.wflags&(wBusy|wTouched) == 0 {
		c.wflags |= wTouched
		b.touch(c)
	}
}

// data is a piece of a binary message: MQTT bytes for the framer (kept if the
// handler paused the connection).
func (b *Batch) data(p []byte) error {
	if b.c.paused {
		b.c.fr.keep(p)
		return nil
	}
	return b.c.fr.feed(p, b)
}

// control answers a ping, ignores a pong, and answers a close with a close
// (echoing the status) and ends the connection with io.EOF.
func (b *Batch) control(op byte, payload []byte) error {
	switch op {
	case wsPing:
		b.c.wsControl(b, wsPong, payload)
	case wsClose:
		if len(payload) > 2 {
			payload = payload[:2]
		}
		b.c.wsControl(b, wsClose, payload)
		return io.EOF
	}
	return nil
}

// wsFail answers a framing error with a close frame and returns err.
func (b *Batch) wsFail(err error) error {
	code := wsStatusProtocol
	if strings.Contains(err.Error(), "text message") {
		code = wsStatusUnsupported
	}
	b.c.wsControl(b, wsClose, []byte{byte(code >> 8), byte(code)})
	return err
}
