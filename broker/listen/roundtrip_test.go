package listen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	ppackets "github.com/eclipse/paho.golang/packets"
	paho "github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// received is one message as a test client saw it.
type received struct {
	topic   string
	payload string
	qos     byte
}

// v5Client connects a paho.golang (MQTT 5) client over a stream from dial.
func v5Client(t *testing.T, conn net.Conn, id string, msgs chan<- received) *paho.Client {
	t.Helper()
	cfg := paho.ClientConfig{ClientID: id, Conn: ppackets.NewThreadSafeConn(conn)}
	if msgs != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){
			func(p paho.PublishReceived) (bool, error) {
				msgs <- received{p.Packet.Topic, string(p.Packet.Payload), p.Packet.QoS}
				return true, nil
			},
		}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, CleanStart: true})
	if err != nil {
		t.Fatalf("v5 connect %s: %v", id, err)
	}
	if ca.ReasonCode != 0 {
		t.Fatalf("v5 connack %s: %#x", id, ca.ReasonCode)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{ReasonCode: 0}) })
	return c
}

// v3URL is the paho.mqtt.golang broker URL of a listener.
func v3URL(kind, addr string) string {
	switch kind {
	case KindTLS:
		return "ssl://" + addr
	case KindWS:
		return "ws://" + addr + DefaultWSPath
	case KindWSS:
		return "wss://" + addr + DefaultWSPath
	}
	return "tcp://" + addr
}

// v3Client connects a paho.mqtt.golang (MQTT 3.1.1) client.
func v3Client(t *testing.T, kind, addr string, tlsCfg *tls.Config, id string) pahov3.Client {
	t.Helper()
	opts := pahov3.NewClientOptions().AddBroker(v3URL(kind, addr)).SetClientID(id).
		SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(5 * time.Second).SetKeepAlive(30 * time.Second)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	c := pahov3.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("v3 connect %s over %s: %v", id, kind, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func expectMessages(t *testing.T, msgs <-chan received, want map[string]received) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case m := <-msgs:
			w, ok := want[m.topic]
			if !ok {
				t.Fatalf("unexpected message on %q", m.topic)
			}
			if m != w {
				t.Fatalf("got %+v, want %+v", m, w)
			}
			delete(want, m.topic)
		case <-timeout:
			t.Fatalf("messages not received: %v", want)
		}
	}
}

func TestRoundTripAllKinds(t *testing.T) {
	files := newTLSFiles(t)
	b := newTestBroker(t, testLimits(), []Config{
		tcpConfig(), files.config("tls", KindTLS, ""), wsConfig(), files.config("wss", KindWSS, ""),
	}, nil)

	for _, kind := range []string{KindTCP, KindTLS, KindWS, KindWSS} {
		var tlsCfg *tls.Config
		if kind == KindTLS || kind == KindWSS {
			tlsCfg = files.clientTLS()
		}
		addr := b.addr(kind)
		if p := b.ls[kind].Protocol(); p != kind {
			t.Fatalf("Protocol() = %q, want %q", p, kind)
		}

		t.Run(kind+"/v5", func(t *testing.T) {
			msgs := make(chan received, 16)
			sub := v5Client(t, mustDial(t, kind, addr, tlsCfg), "sub5-"+kind, msgs)
			pub := v5Client(t, mustDial(t, kind, addr, tlsCfg), "pub5-"+kind, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			prefix := "rt5/" + kind + "/"
			if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: prefix + "#", QoS: 2}}}); err != nil {
				t.Fatalf("subscribe: %v", err)
			}
			want := map[string]received{}
			for qos := byte(0); qos <= 2; qos++ {
				topic := fmt.Sprintf("%sq%d", prefix, qos)
				payload := fmt.Sprintf("hello %s qos %d", kind, qos)
				want[topic] = received{topic, payload, qos}
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte(payload)}); err != nil {
					t.Fatalf("publish qos %d: %v", qos, err)
				}
			}
			expectMessages(t, msgs, want)
		})

		t.Run(kind+"/v311", func(t *testing.T) {
			msgs := make(chan received, 16)
			sub := v3Client(t, kind, addr, tlsCfg, "sub3-"+kind)
			pub := v3Client(t, kind, addr, tlsCfg, "pub3-"+kind)
			prefix := "rt3/" + kind + "/"
			tok := sub.Subscribe(prefix+"#", 2, func(_ pahov3.Client, m pahov3.Message) {
				msgs <- received{m.Topic(), string(m.Payload()), m.Qos()}
			})
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("subscribe: %v", tok.Error())
			}
			want := map[string]received{}
			for qos := byte(0); qos <= 2; qos++ {
				topic := fmt.Sprintf("%sq%d", prefix, qos)
				payload := fmt.Sprintf("hello %s qos %d", kind, qos)
				want[topic] = received{topic, payload, qos}
				tok := pub.Publish(topic, qos, false, payload)
				if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
					t.Fatalf("publish qos %d: %v", qos, tok.Error())
				}
			}
			expectMessages(t, msgs, want)
		})
	}
}

func TestAddressReportsBoundPort(t *testing.T) {
	files := newTLSFiles(t)
	b := newTestBroker(t, testLimits(), []Config{
		tcpConfig(), files.config("tls", KindTLS, ""), wsConfig(), files.config("wss", KindWSS, ""),
	}, nil)
	for id, l := range b.ls {
		host, port, err := net.SplitHostPort(l.Address())
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("%s: Address() = %q, want the bound 127.0.0.1 port", id, l.Address())
		}
	}
}
