package listen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// peerHook records the client certificate common name of each TLS client, as
// hooks/auth would read it through ConnectionState.
type peerHook struct {
	mqtt.HookBase
	mu  sync.Mutex
	cns map[string]string // client id -> peer CN ("" without certificate)
}

func (h *peerHook) ID() string           { return "peer-capture" }
func (h *peerHook) Provides(b byte) bool { return b == mqtt.OnConnect }
func (h *peerHook) Init(any) error       { h.cns = map[string]string{}; return nil }
func (h *peerHook) cn(id string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cn, ok := h.cns[id]
	return cn, ok
}
func (h *peerHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	st, ok := ConnectionState(cl.Net.Conn)
	if !ok {
		return nil
	}
	cn := ""
	if len(st.PeerCertificates) > 0 {
		cn = st.PeerCertificates[0].Subject.CommonName
	}
	h.mu.Lock()
	h.cns[cl.ID] = cn
	h.mu.Unlock()
	return nil
}

// tryMQTT dials, sends a v5 CONNECT and reads the CONNACK; any failure (TLS
// handshake, upgrade, a closed stream) is returned.
func tryMQTT(t *testing.T, kind, addr string, tlsCfg *tls.Config, id string) error {
	t.Helper()
	c, err := dial(t, kind, addr, tlsCfg)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(connectV5(id)); err != nil {
		return fmt.Errorf("write connect: %w", err)
	}
	h, body, err := readPacket(bufio.NewReader(c))
	if err != nil {
		return fmt.Errorf("read connack: %w", err)
	}
	if h != 0x20 || len(body) < 2 || body[1] != 0 {
		return fmt.Errorf("connack %#x % x", h, body)
	}
	return nil
}

func TestTLSPolicyRefusesWeakClients(t *testing.T) {
	files := newTLSFiles(t)
	b := newTestBroker(t, testLimits(), []Config{files.config("tls", KindTLS, "")}, nil)
	addr := b.addr("tls")

	tests := []struct {
		name string
		cfg  func(*tls.Config)
		ok   bool
	}{
		{"tls13 default", func(*tls.Config) {}, true},
		{"tls12 ecdhe aes-gcm", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
		}, true},
		{"tls12 ecdhe chacha20", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}
		}, true},
		{"tls12 p-384 only", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CurvePreferences = []tls.CurveID{tls.CurveP384}
		}, true},
		{"tls11", func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS10
			c.MaxVersion = tls.VersionTLS11
		}, false},
		{"tls10", func(c *tls.Config) {
			c.MinVersion = tls.VersionTLS10
			c.MaxVersion = tls.VersionTLS10
		}, false},
		{"tls12 cbc only", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
		}, false},
		{"tls12 p-521 only", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CurvePreferences = []tls.CurveID{tls.CurveP521}
		}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := files.clientTLS()
			tc.cfg(cfg)
			before := b.obs.rejectedFor(ReasonTLSHandshake)
			err := tryMQTT(t, KindTLS, addr, cfg, fmt.Sprintf("policy-%d", i))
			if tc.ok && err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("handshake succeeded, want refusal")
				}
				eventually(t, 10*time.Second, "tls_handshake rejection counted", func() bool {
					return b.obs.rejectedFor(ReasonTLSHandshake) > before
				})
			}
		})
	}
}

func TestMutualTLS(t *testing.T) {
	files := newTLSFiles(t)
	hook := new(peerHook)
	b := newTestBroker(t, testLimits(), []Config{
		files.config("tls", KindTLS, ClientAuthRequire),
		files.config("wss", KindWSS, ClientAuthRequire),
		files.config("tls-req", KindTLS, ClientAuthRequest),
	}, nil, withHook(hook))
	good := files.clientCA.clientCert(t, "device-1")
	other := newTestCA(t, "rogue ca").clientCert(t, "rogue")

	for _, kind := range []string{KindTLS, KindWSS} {
		addr := b.addr(kind)
		t.Run(kind+"/no cert", func(t *testing.T) {
			if err := tryMQTT(t, kind, addr, files.clientTLS(), "nocert-"+kind); err == nil {
				t.Fatal("connected without a client certificate")
			}
		})
		t.Run(kind+"/other ca", func(t *testing.T) {
			if err := tryMQTT(t, kind, addr, files.clientTLS(other), "rogue-"+kind); err == nil {
				t.Fatal("connected with a certificate from another CA")
			}
			// Go clients only send a certificate the server's CA list matches: force it.
			forced := files.clientTLS()
			forced.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other, nil }
			if err := tryMQTT(t, kind, addr, forced, "rogue2-"+kind); err == nil {
				t.Fatal("connected with a certificate from another CA (sent anyway)")
			}
		})
		t.Run(kind+"/good cert", func(t *testing.T) {
			id := "good-" + kind
			if err := tryMQTT(t, kind, addr, files.clientTLS(good), id); err != nil {
				t.Fatalf("good certificate refused: %v", err)
			}
			if cn, ok := hook.cn(id); !ok || cn != "device-1" {
				t.Fatalf("peer CN seen by hooks = %q (%v), want device-1", cn, ok)
			}
		})
	}

	t.Run("request", func(t *testing.T) {
		addr := b.addr("tls-req")
		if err := tryMQTT(t, KindTLS, addr, files.clientTLS(), "req-none"); err != nil {
			t.Fatalf("request mode refused a client without certificate: %v", err)
		}
		if cn, ok := hook.cn("req-none"); !ok || cn != "" {
			t.Fatalf("peer CN = %q (%v), want none", cn, ok)
		}
		// Go clients only send a certificate the server's CA list matches: force it.
		forced := files.clientTLS()
		forced.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other, nil }
		if err := tryMQTT(t, KindTLS, addr, forced, "req-rogue"); err == nil {
			t.Fatal("request mode accepted a certificate from another CA")
		}
		if err := tryMQTT(t, KindTLS, addr, files.clientTLS(good), "req-good"); err != nil {
			t.Fatalf("request mode refused a good certificate: %v", err)
		}
	})
}

// serverSerial dials kind and returns the serial of the server's leaf certificate.
func serverSerial(t *testing.T, kind, addr string, cfg *tls.Config) (string, net.Conn) {
	t.Helper()
	c := mustDial(t, kind, addr, cfg)
	var st tls.ConnectionState
	switch v := c.(type) {
	case *tls.Conn:
		st = v.ConnectionState()
	case *wsClientConn:
		st = v.ws.NetConn().(*tls.Conn).ConnectionState()
	default:
		t.Fatalf("not a tls stream: %T", c)
	}
	return st.PeerCertificates[0].SerialNumber.String(), c
}

func TestReloadTLS(t *testing.T) {
	files := newTLSFiles(t)
	b := newTestBroker(t, testLimits(), []Config{
		files.config("tls", KindTLS, ""), files.config("wss", KindWSS, ""), tcpConfig(),
	}, nil)

	if err := b.ls["tcp"].ReloadTLS(); !errors.Is(err, ErrNotTLS) {
		t.Fatalf("ReloadTLS on tcp = %v, want ErrNotTLS", err)
	}

	// Old connections, made with serial 10, one per kind; each subscribes to itself.
	type oldConn struct {
		cli  *paho.Client
		msgs chan received
	}
	olds := map[string]oldConn{}
	for _, kind := range []string{KindTLS, KindWSS} {
		serial, c := serverSerial(t, kind, b.addr(kind), files.clientTLS())
		if serial != "10" {
			t.Fatalf("%s: initial serial %s, want 10", kind, serial)
		}
		msgs := make(chan received, 4)
		cli := v5Client(t, c, "old-"+kind, msgs)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := cli.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "old/" + kind, QoS: 1}}}); err != nil {
			t.Fatal(err)
		}
		cancel()
		olds[kind] = oldConn{cli, msgs}
	}

	// Same CA, new leaf with serial 20, written over the configured files.
	cert, key := files.serverCA.issue(t, "localhost", 20, true)
	writeFile(t, files.dir, "server.pem", cert)
	writeFile(t, files.dir, "server.key", key)
	for _, kind := range []string{KindTLS, KindWSS} {
		if err := b.ls[kind].ReloadTLS(); err != nil {
			t.Fatalf("%s: reload: %v", kind, err)
		}
		if serial, _ := serverSerial(t, kind, b.addr(kind), files.clientTLS()); serial != "20" {
			t.Fatalf("%s: serial after reload %s, want 20", kind, serial)
		}
	}

	// The old connections still work.
	for kind, o := range olds {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := o.cli.Publish(ctx, &paho.Publish{Topic: "old/" + kind, QoS: 1, Payload: []byte("still here")}); err != nil {
			t.Fatalf("%s: old connection publish: %v", kind, err)
		}
		cancel()
		expectMessages(t, o.msgs, map[string]received{"old/" + kind: {"old/" + kind, "still here", 1}})
	}

	// A broken certificate file: the reload fails, naming the file, and serial 20 stays.
	writeFile(t, files.dir, "server.pem", []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"))
	for _, kind := range []string{KindTLS, KindWSS} {
		err := b.ls[kind].ReloadTLS()
		if !errors.Is(err, ErrTLSMaterial) || !strings.Contains(err.Error(), "server.pem") || !strings.Contains(err.Error(), "tls.cert_file") {
			t.Fatalf("%s: reload of a broken file = %v, want ErrTLSMaterial naming tls.cert_file and server.pem", kind, err)
		}
		if serial, _ := serverSerial(t, kind, b.addr(kind), files.clientTLS()); serial != "20" {
			t.Fatalf("%s: serial after failed reload %s, want 20", kind, serial)
		}
	}
	// A key that does not match the certificate also fails and changes nothing.
	writeFile(t, files.dir, "server.pem", cert)
	_, otherKey := files.serverCA.issue(t, "localhost", 30, true)
	writeFile(t, files.dir, "server.key", otherKey)
	if err := b.ls["tls"].ReloadTLS(); !errors.Is(err, ErrTLSMaterial) {
		t.Fatalf("reload with a mismatched key = %v, want ErrTLSMaterial", err)
	}
}
