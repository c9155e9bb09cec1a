package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/broker/listen"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/testkit"
)

// serverCert writes a self-signed certificate for 127.0.0.1 and returns the
// listener TLS config and a client config that trusts it.
func serverCert(t *testing.T) (listen.TLSConfig, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	lt := listen.TLSConfig{CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	pool := x509.NewCertPool()
	pool.AddCert(testkit.WriteCert(t, lt.CertFile, lt.KeyFile, "engine-test", 1))
	return lt, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// allKinds adds a tls, a ws and a wss listener to the test engine's tcp one.
func allKinds(lt listen.TLSConfig) func(*Config, *transport.Config) {
	return func(_ *Config, tc *transport.Config) {
		tc.Listeners = append(tc.Listeners,
			listen.Config{Name: "tls", Kind: listen.KindTLS, Address: "127.0.0.1:0", TLS: lt},
			listen.Config{Name: "ws", Kind: listen.KindWS, Address: "127.0.0.1:0"},
			listen.Config{Name: "wss", Kind: listen.KindWSS, Address: "127.0.0.1:0", TLS: lt})
	}
}

// dialKind opens a stream to the named listener (tcp, tls, ws, wss).
func dialKind(t *testing.T, te *testEngine, kind string, ct *tls.Config) net.Conn {
	t.Helper()
	addr := te.srv.Addr(kind).String()
	switch kind {
	case "tcp":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	case "tls":
		c, err := tls.Dial("tcp", addr, ct)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		// paho writes a packet in several Writes and pings from another goroutine
		// (the CONNACK's Server Keep Alive starts its pinger): a Locker keeps
		// packets whole (paho.golang #90), as autopaho does for tls and ws.
		return packets.NewThreadSafeConn(c)
	}
	scheme := "ws://"
	if kind == "wss" {
		scheme = "wss://"
	}
	d := websocket.Dialer{Subprotocols: []string{"mqtt"}, TLSClientConfig: ct, HandshakeTimeout: 5 * time.Second}
	wc, _, err := d.Dial(scheme+addr+"/mqtt", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wc.Close() })
	return packets.NewThreadSafeConn(&wsConn{Conn: wc})
}

// v3URL is the paho.mqtt.golang broker URL of a listener.
func v3URL(kind, addr string) string {
	switch kind {
	case "tls":
		return "ssl://" + addr
	case "ws", "wss":
		return kind + "://" + addr + "/mqtt"
	}
	return "tcp://" + addr
}

// TestRoundTripAllKinds: on every listener kind (tcp, tls, ws, wss) a real
// MQTT 5 client (paho.golang) and a real 3.1.1 client (paho.mqtt.golang)
// each subscribe and get what another client of the same kind publishes, at
// QoS 0, 1 and 2.
func TestRoundTripAllKinds(t *testing.T) {
	lt, ct := serverCert(t)
	te := newTestEngine(t, allKinds(lt))
	type msg struct {
		topic, payload string
		qos            byte
	}
	expect := func(t *testing.T, got <-chan msg, want map[string]msg) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for len(want) > 0 {
			select {
			case m := <-got:
				if w, ok := want[m.topic]; !ok || w != m {
					t.Fatalf("got %+v, want one of %v", m, want)
				}
				delete(want, m.topic)
			case <-timeout:
				t.Fatalf("not received: %v", want)
			}
		}
	}
	for _, kind := range []string{"tcp", "tls", "ws", "wss"} {
		t.Run(kind+"/v5", func(t *testing.T) {
			got := make(chan msg, 8)
			connect := func(id string) *paho.Client {
				cl := paho.NewClient(paho.ClientConfig{Conn: dialKind(t, te, kind, ct),
					OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
						got <- msg{pr.Packet.Topic, string(pr.Packet.Payload), pr.Packet.QoS}
						return true, nil
					}}})
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if ca, err := cl.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true}); err != nil || ca.ReasonCode != 0 {
					t.Fatalf("connect %s: %v %+v", id, err, ca)
				}
				t.Cleanup(func() { _ = cl.Disconnect(&paho.Disconnect{}) })
				return cl
			}
			sub, pub := connect("sub5-"+kind), connect("pub5-"+kind)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "rt5/" + kind + "/#", QoS: 2}}}); err != nil {
				t.Fatal(err)
			}
			want := map[string]msg{}
			for qos := byte(0); qos <= 2; qos++ {
				m := msg{fmt.Sprintf("rt5/%s/q%d", kind, qos), fmt.Sprintf("v5 %s %d", kind, qos), qos}
				want[m.topic] = m
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: m.topic, QoS: qos, Payload: []byte(m.payload)}); err != nil {
					t.Fatalf("publish qos %d: %v", qos, err)
				}
			}
			expect(t, got, want)
		})
		t.Run(kind+"/v311", func(t *testing.T) {
			got := make(chan msg, 8)
			connect := func(id string) pahov3.Client {
				opts := pahov3.NewClientOptions().AddBroker(v3URL(kind, te.srv.Addr(kind).String())).SetClientID(id).
					SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
					SetConnectTimeout(5 * time.Second).SetKeepAlive(0).SetTLSConfig(ct)
				cl := pahov3.NewClient(opts)
				if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
					t.Fatalf("connect %s: %v", id, tok.Error())
				}
				t.Cleanup(func() { cl.Disconnect(100) })
				return cl
			}
			sub, pub := connect("sub3-"+kind), connect("pub3-"+kind)
			tok := sub.Subscribe("rt3/"+kind+"/#", 2, func(_ pahov3.Client, m pahov3.Message) {
				got <- msg{m.Topic(), string(m.Payload()), m.Qos()}
			})
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			want := map[string]msg{}
			for qos := byte(0); qos <= 2; qos++ {
				m := msg{fmt.Sprintf("rt3/%s/q%d", kind, qos), fmt.Sprintf("v311 %s %d", kind, qos), qos}
				want[m.topic] = m
				if tok := pub.Publish(m.topic, qos, false, m.payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					t.Fatalf("publish qos %d: %v", qos, tok.Error())
				}
			}
			expect(t, got, want)
		})
	}
}

// panicAuth panics for client ids starting with "boom"; it accepts others.
type panicAuth struct {
	allowAll
}

func (a *panicAuth) Authenticate(ctx context.Context, r *ext.ConnectRequest) ext.AuthResult {
	if len(r.Client.ID) >= 4 && r.Client.ID[:4] == "boom" {
		panic("authenticator fails for " + r.Client.ID)
	}
	return a.allowAll.Authenticate(ctx, r)
}

// TestAuthenticatorPanicContained: an Authenticator that panics on a worker
// takes down only that connection (closed, no CONNACK, on tcp and ws); the
// engine keeps serving: the next client on the same listener round-trips.
func TestAuthenticatorPanicContained(t *testing.T) {
	lt, ct := serverCert(t)
	auth := &panicAuth{allowAll: allowAll{deny: map[string]bool{}}}
	te := newTestEngine(t, allKinds(lt), func(o *Options) { o.Auth = auth })
	for _, kind := range []string{"tcp", "ws", "tls"} {
		t.Run(kind, func(t *testing.T) {
			nc := dialKind(t, te, kind, ct)
			cl := paho.NewClient(paho.ClientConfig{Conn: nc})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if ca, err := cl.Connect(ctx, &paho.Connect{ClientID: "boom-" + kind, CleanStart: true}); err == nil {
				t.Fatalf("connected through a panicking authenticator: %+v", ca)
			}
			if ctx.Err() != nil {
				t.Fatal("connection not closed after the panic")
			}
			got := make(chan string, 1)
			ok := paho.NewClient(paho.ClientConfig{Conn: dialKind(t, te, kind, ct),
				OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
					got <- string(pr.Packet.Payload)
					return true, nil
				}}})
			if ca, err := ok.Connect(ctx, &paho.Connect{ClientID: "fine-" + kind, CleanStart: true}); err != nil || ca.ReasonCode != 0 {
				t.Fatalf("connect after the panic: %v %+v", err, ca)
			}
			defer func() { _ = ok.Disconnect(&paho.Disconnect{}) }()
			if _, err := ok.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "alive/" + kind, QoS: 1}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := ok.Publish(ctx, &paho.Publish{Topic: "alive/" + kind, QoS: 1, Payload: []byte("yes")}); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-got:
				if p != "yes" {
					t.Fatalf("payload %q", p)
				}
			case <-ctx.Done():
				t.Fatal("no message after the panic")
			}
		})
	}
}
