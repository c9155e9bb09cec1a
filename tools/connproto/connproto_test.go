package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// models are the variants the prototype measures (measure.sh's cases).
var models = []struct {
	name string
	cfg  config
	tls  bool
}{
	{"rawconn", config{Model: "rawconn"}, false},
	{"rawconn-handoff", config{Model: "rawconn", Handoff: true}, false},
	{"nbio", config{Model: "nbio"}, false},
	{"rawconn-handoff-tls", config{Model: "rawconn", Handoff: true}, true},
	{"rawconn-tls", config{Model: "rawconn"}, true},
}

// TestModels runs each model against real MQTT clients (paho.golang for 5.0,
// paho.mqtt.golang for 3.1.1) and a raw one: connect, subscribe, pings, an idle wait
// in which no pooled buffer may be out, a packet split across two writes, a
// connection left open at Close, and a goroutine count back to its baseline.
// Over TLS every read batch ends with tls.Conn.Read returning errWouldBlock, so
// the later SUBSCRIBE and PINGREQs pass only while crypto/tls keeps temporary
// read errors non-sticky (the contract tlsconn.go relies on).
func TestModels(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			cfg := m.cfg
			cfg.Addr, cfg.ConnectStack = "127.0.0.1:0", 16<<10
			if m.tls {
				tc, err := selfSigned()
				if err != nil {
					t.Fatal(err)
				}
				cfg.TLS = tc
			}
			srv, err := start(cfg)
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			t.Cleanup(func() {
				if !closed {
					srv.Close()
				}
			})
			dial := func(t *testing.T) net.Conn {
				t.Helper()
				var (
					nc  net.Conn
					err error
				)
				if m.tls {
					nc, err = tls.Dial("tcp", srv.Addr(), &tls.Config{InsecureSkipVerify: true})
				} else {
					nc, err = net.Dial("tcp", srv.Addr())
				}
				if err != nil {
					t.Fatal(err)
				}
				return nc
			}

			v5 := connectV5(t, dial(t))
			v3 := connectV3(t, srv.Addr(), m.tls)
			// The 3.1.1 client pings every second.
			waitFor(t, "a ping answered", func() bool { return srv.Stats().Pings >= 1 })
			waitFor(t, "idle: no buffer out, no partial packet", func() bool {
				s := srv.Stats()
				return s.Conns == 2 && s.BufsOut == 0 && s.Partials == 0
			})

			// A CONNECT split across two writes is held as a partial packet until
			// its rest arrives, then answered.
			raw := dial(t)
			defer raw.Close()
			var buf bytes.Buffer
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
				Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "split", Keepalive: 60}}
			if err := pk.ConnectEncode(&buf); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if _, err := raw.Write(b[:5]); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "partial CONNECT held", func() bool { return srv.Stats().Partials == 1 })
			if _, err := raw.Write(b[5:]); err != nil {
				t.Fatal(err)
			}
			ack := make([]byte, 4)
			_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := raw.Read(ack); err != nil || ack[0] != packets.Connack<<4 {
				t.Fatalf("CONNACK after a split CONNECT: % x, %v", ack, err)
			}
			pings := srv.Stats().Pings
			if _, err := raw.Write([]byte{packets.Pingreq << 4, 0}); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(raw, ack[:2]); err != nil || ack[0] != packets.Pingresp<<4 || ack[1] != 0 {
				t.Fatalf("PINGRESP: % x, %v", ack[:2], err)
			}
			if got := srv.Stats().Pings; got <= pings {
				t.Fatalf("pings answered %d after a PINGREQ, was %d", got, pings)
			}
			waitFor(t, "idle after the split CONNECT", func() bool {
				s := srv.Stats()
				return s.Conns == 3 && s.BufsOut == 0 && s.Partials == 0
			})

			// raw now holds half a packet, which Close must let go of.
			if _, err := raw.Write([]byte{packets.Pingreq << 4}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "half a PINGREQ held", func() bool { return srv.Stats().Partials == 1 })

			if err := v5.Disconnect(&paho.Disconnect{ReasonCode: 0}); err != nil {
				t.Fatal(err)
			}
			v3.Disconnect(250)
			waitFor(t, "DISCONNECT closes", func() bool { return srv.Stats().Conns == 1 })

			// raw stays open: Close must close it and stop its goroutine.
			if err := srv.Close(); err != nil {
				t.Fatal(err)
			}
			closed = true
			if err := srv.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if st := srv.Stats(); st.Conns != 0 || st.Partials != 0 || st.BufsOut != 0 {
				t.Fatalf("after Close: %d conns, %d partial packets, %d buffers out", st.Conns, st.Partials, st.BufsOut)
			}
			waitFor(t, fmt.Sprintf("goroutines back to %d", base), func() bool {
				return runtime.NumGoroutine() <= base
			})
		})
	}
}

func connectV5(t *testing.T, nc net.Conn) *paho.Client {
	t.Helper()
	// Over TLS paho writes a packet in several Writes: a Locker keeps them whole
	// against its pinger (paho.golang #90).
	c := paho.NewClient(paho.ClientConfig{Conn: pahopackets.NewThreadSafeConn(nc), PacketTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// No keepalive: paho.golang v0.23 writes a packet as several Writes, and over
	// TLS its pinger's PINGREQ can land between them (the server then rightly
	// refuses a malformed SUBSCRIBE). The raw client and TestKeepalive cover pings.
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: "v5", KeepAlive: 0, CleanStart: true})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("v5 connect: %v %+v", err, ca)
	}
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "inbox/v5", QoS: 1}}})
	if err != nil || len(sa.Reasons) != 1 || sa.Reasons[0] != 1 {
		t.Fatalf("v5 subscribe: %v %+v", err, sa)
	}
	return c
}

func connectV3(t *testing.T, addr string, useTLS bool) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().SetClientID("v3").SetKeepAlive(time.Second).
		SetPingTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false).SetProtocolVersion(4)
	if useTLS {
		o.AddBroker("tls://" + addr).SetTLSConfig(&tls.Config{InsecureSkipVerify: true})
	} else {
		o.AddBroker("tcp://" + addr)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 connect: %v", tok.Error())
	}
	tok := c.Subscribe("inbox/v3", 1, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 subscribe: %v", tok.Error())
	}
	if q := tok.(*mqtt.SubscribeToken).Result()["inbox/v3"]; q != 1 {
		t.Fatalf("v3 granted QoS %d", q)
	}
	return c
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFeedRejects checks the decoder's refusals: a first packet other than
// CONNECT, a second CONNECT, and a remaining length over the limit.
func TestFeedRejects(t *testing.T) {
	st := newStats(0)
	var out bytes.Buffer
	c := &client{}
	if err := c.feed(st, []byte{packets.Pingreq << 4, 0}, &out); err == nil {
		t.Fatal("PINGREQ before CONNECT accepted")
	}
	var b bytes.Buffer
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 5,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "x"}}
	if err := pk.ConnectEncode(&b); err != nil {
		t.Fatal(err)
	}
	c = &client{}
	if err := c.feed(st, b.Bytes(), &out); err != nil || c.version != 5 || c.id != "x" {
		t.Fatalf("CONNECT: %v, client %+v", err, c)
	}
	if err := c.feed(st, b.Bytes(), &out); err == nil {
		t.Fatal("second CONNECT accepted")
	}
	if err := (&client{}).feed(st, []byte{packets.Connect << 4, 0xff, 0xff, 0xff, 0x7f}, &out); err == nil {
		t.Fatal("oversized remaining length accepted")
	}
}

// TestKeepalive checks that each model closes a client silent for 1.5 × its
// keepalive: the rawconn models through the netpoller's read deadline, nbio
// through its own timer.
func TestKeepalive(t *testing.T) {
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cfg := m.cfg
			cfg.Addr = "127.0.0.1:0"
			if m.tls {
				tc, err := selfSigned()
				if err != nil {
					t.Fatal(err)
				}
				cfg.TLS = tc
			}
			srv, err := start(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var nc net.Conn
			if m.tls {
				nc, err = tls.Dial("tcp", srv.Addr(), &tls.Config{InsecureSkipVerify: true})
			} else {
				nc, err = net.Dial("tcp", srv.Addr())
			}
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			var b bytes.Buffer
			pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
				Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "ka", Keepalive: 1}}
			if err := pk.ConnectEncode(&b); err != nil {
				t.Fatal(err)
			}
			if _, err := nc.Write(b.Bytes()); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_ = nc.SetReadDeadline(start.Add(10 * time.Second))
			ack := make([]byte, 4)
			if _, err := nc.Read(ack); err != nil {
				t.Fatalf("CONNACK: %v", err)
			}
			if _, err := nc.Read(ack); err == nil {
				t.Fatal("silent client got data instead of a close")
			}
			if took := time.Since(start); took < time.Second || took > 5*time.Second {
				t.Fatalf("silent client with keepalive 1 s closed after %v, want about 1.5 s", took)
			}
		})
	}
}
