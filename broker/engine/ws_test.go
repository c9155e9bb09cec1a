package engine

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/gorilla/websocket"
	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
)

// wsConn is a net.Conn over a gorilla client connection (binary messages).
type wsConn struct {
	*websocket.Conn
	mu sync.Mutex
	r  io.Reader
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
		if errors.Is(err, io.EOF) {
			c.r = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// TestWebSocketPaho: a real MQTT 5 client (paho.golang) over the ws
// listener subscribes, publishes QoS 1 to itself and gets the message.
func TestWebSocketPaho(t *testing.T) {
	te := newTestEngine(t, func(_ *Config, tc *transport.Config) {
		tc.Listeners = append(tc.Listeners, listen.Config{Name: "ws", Kind: listen.KindWS, Address: "127.0.0.1:0"})
	})
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, HandshakeTimeout: 5 * time.Second}
	wc, _, err := d.Dial("ws://"+te.srv.Addr("ws").String()+"/mqtt", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	got := make(chan *paho.Publish, 1)
	// paho writes a packet in several Writes and pings from another goroutine
	// (the CONNACK's Server Keep Alive starts its pinger): a Locker keeps
	// packets whole (paho.golang #90), as autopaho does for tls and ws.
	cl := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(&wsConn{Conn: wc}), OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { got <- pr.Packet; return true, nil },
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ca, err := cl.Connect(ctx, &paho.Connect{ClientID: "ws", CleanStart: true}); err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect: %v %+v", err, ca)
	}
	if _, err := cl.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ws/t", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if pr, err := cl.Publish(ctx, &paho.Publish{Topic: "ws/t", QoS: 1, Payload: []byte("over ws")}); err != nil || pr.ReasonCode != 0 {
		t.Fatalf("publish: %v %+v", err, pr)
	}
	select {
	case m := <-got:
		if string(m.Payload) != "over ws" || m.QoS != 1 {
			t.Fatalf("got %q qos %d", m.Payload, m.QoS)
		}
	case <-ctx.Done():
		t.Fatal("no message over ws")
	}
	_ = cl.Disconnect(&paho.Disconnect{})
}
