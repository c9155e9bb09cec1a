package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/log"
	"github.com/gorilla/websocket"
)

// dialMQTT opens a transport to a listener: kind is tcp, tls, ws or wss.
func dialMQTT(t *testing.T, kind, addr string, tc *tls.Config) (net.Conn, error) {
	t.Helper()
	switch kind {
	case "tcp":
		return net.DialTimeout("tcp", addr, 5*time.Second)
	case "tls":
		return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tc)
	case "ws", "wss":
		d := websocket.Dialer{Subprotocols: []string{"mqtt"}, TLSClientConfig: tc, HandshakeTimeout: 5 * time.Second}
		scheme := "ws"
		if kind == "wss" {
			scheme = "wss"
		}
		ws, resp, err := d.Dial(scheme+"://"+addr+"/mqtt", http.Header{})
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			return nil, err
		}
		return &wsConn{Conn: ws}, nil
	}
	t.Fatalf("unknown kind %q", kind)
	return nil, nil
}

// wsConn adapts a websocket to the byte stream MQTT clients expect.
type wsConn struct {
	*websocket.Conn
	r  io.Reader
	wm sync.Mutex
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			_, r, err := c.NextReader()
			if err != nil {
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.wm.Lock()
	defer c.wm.Unlock()
	if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// v5client is a connected paho.golang client that records what it receives.
type v5client struct {
	*paho.Client
	msgs    chan *paho.Publish
	connack *paho.Connack
	discon  chan *paho.Disconnect
}

func connectV5(t *testing.T, conn net.Conn, id, user, pass string, clean bool) (*v5client, error) {
	t.Helper()
	return connectV5Expiry(t, conn, id, user, pass, clean, 0)
}

// connectV5Expiry is connectV5 asking for a Session Expiry Interval of expiry
// seconds (0: none, the session ends with the connection).
func connectV5Expiry(t *testing.T, conn net.Conn, id, user, pass string, clean bool, expiry uint32) (*v5client, error) {
	t.Helper()
	c := &v5client{msgs: make(chan *paho.Publish, 1000), discon: make(chan *paho.Disconnect, 1)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn:     conn,
		ClientID: id,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { c.msgs <- pr.Packet; return true, nil },
		},
		OnServerDisconnect: func(d *paho.Disconnect) { c.discon <- d },
		// paho.golang v0.23 writes a packet as several Writes (net.Buffers) from
		// several goroutines without a lock; only *net.TCPConn makes that atomic
		// (writev). Over TLS and WebSocket its pinger's first PINGREQ, sent at once
		// after CONNECT, can land inside a SUBSCRIBE. Tests run no pinger: the
		// broker's keepalive (1.5 x 30 s) outlasts every test.
		PingHandler: quietPinger{},
	})
	cp := &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: clean}
	if expiry > 0 {
		cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: &expiry}
	}
	if user != "" {
		cp.Username, cp.UsernameFlag = user, true
	}
	if pass != "" {
		cp.Password, cp.PasswordFlag = []byte(pass), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	c.connack = ca
	if err != nil {
		return c, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{ReasonCode: 0}) })
	return c, nil
}

func (c *v5client) expect(t *testing.T, topic, payload string, qos byte) {
	t.Helper()
	select {
	case m := <-c.msgs:
		if m.Topic != topic || string(m.Payload) != payload || m.QoS != qos {
			t.Fatalf("got %s %q qos %d, want %s %q qos %d", m.Topic, m.Payload, m.QoS, topic, payload, qos)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no message %s %q within 10s", topic, payload)
	}
}

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// quietPinger is a paho.Pinger that never pings (see connectV5).
type quietPinger struct{}

func (quietPinger) Run(ctx context.Context, _ net.Conn, _ uint16) error { <-ctx.Done(); return nil }
func (quietPinger) PacketSent()                                         {}
func (quietPinger) PacketReceived()                                     {}
func (quietPinger) PingResp()                                           {}
func (quietPinger) SetDebug(log.Logger)                                 {}
