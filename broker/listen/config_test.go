package listen

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigValidate(t *testing.T) {
	tlsOK := TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}
	tests := []struct {
		name string
		cfg  Config
		err  string // substring of the error; "" = valid
	}{
		{"default", DefaultConfig(), ""},
		{"tcp any interface", Config{Kind: KindTCP, Address: ":1883"}, ""},
		{"tcp ipv6", Config{Kind: KindTCP, Address: "[::1]:0"}, ""},
		{"tcp host name", Config{Kind: KindTCP, Address: "localhost:1883"}, ""},
		{"ws default path", Config{Kind: KindWS, Address: "127.0.0.1:8083"}, ""},
		{"ws path", Config{Kind: KindWS, Address: "127.0.0.1:8083", Path: "/mqtt/v1"}, ""},
		{"tls", Config{Kind: KindTLS, Address: ":8883", TLS: tlsOK}, ""},
		{"wss require", Config{Kind: KindWSS, Address: ":8084", TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca", ClientAuth: "require"}}, ""},
		{"tls ca implies request", Config{Kind: KindTLS, Address: ":8883", TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca"}}, ""},
		{"bad kind", Config{Kind: "quic", Address: ":1"}, `kind: "quic"`},
		{"empty kind", Config{Address: ":1"}, `kind: ""`},
		{"upper kind", Config{Kind: "TCP", Address: ":1"}, `kind: "TCP"`},
		{"no port", Config{Kind: KindTCP, Address: "127.0.0.1"}, `address: "127.0.0.1"`},
		{"port too big", Config{Kind: KindTCP, Address: "127.0.0.1:65536"}, "address"},
		{"port not a number", Config{Kind: KindTCP, Address: "127.0.0.1:mqtt"}, "address"},
		{"empty address", Config{Kind: KindTCP}, `address: ""`},
		{"name with slash", Config{Name: "a/b", Kind: KindTCP, Address: ":1"}, "name"},
		{"path on tcp", Config{Kind: KindTCP, Address: ":1", Path: "/mqtt"}, "path"},
		{"relative ws path", Config{Kind: KindWS, Address: ":1", Path: "mqtt"}, `path: "mqtt"`},
		{"tls on tcp", Config{Kind: KindTCP, Address: ":1", TLS: tlsOK}, "tls: tcp"},
		{"tls no cert", Config{Kind: KindTLS, Address: ":1", TLS: TLSConfig{KeyFile: "k"}}, "tls.cert_file"},
		{"tls no key", Config{Kind: KindTLS, Address: ":1", TLS: TLSConfig{CertFile: "c"}}, "tls.key_file"},
		{"require without ca", Config{Kind: KindTLS, Address: ":1", TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientAuth: "require"}}, "tls.client_ca_file"},
		{"request without ca", Config{Kind: KindWSS, Address: ":1", TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientAuth: "request"}}, "tls.client_ca_file"},
		{"none with ca", Config{Kind: KindTLS, Address: ":1", TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca", ClientAuth: "none"}}, "tls.client_auth"},
		{"proxy tcp", Config{Kind: KindTCP, Address: ":1", ProxyProtocol: true, ProxyTrusted: []string{"10.0.0.0/8"}}, ""},
		{"proxy tls plain", Config{Kind: KindTLS, Address: ":1", TLS: tlsOK, ProxyProtocol: true, ProxyTrusted: []string{"::1"}, ProxyUntrusted: "plain"}, ""},
		{"proxy without trusted", Config{Kind: KindTCP, Address: ":1", ProxyProtocol: true}, "proxy_trusted: empty list"},
		{"proxy bad trusted", Config{Kind: KindTCP, Address: ":1", ProxyProtocol: true, ProxyTrusted: []string{"10.0.0.1/8"}}, `proxy_trusted: [0]: "10.0.0.1/8"`},
		{"proxy bad untrusted", Config{Kind: KindTCP, Address: ":1", ProxyProtocol: true, ProxyTrusted: []string{"10.0.0.1"}, ProxyUntrusted: "allow"}, `proxy_untrusted: "allow"`},
		{"proxy on ws", Config{Kind: KindWS, Address: ":1", ProxyProtocol: true, ProxyTrusted: []string{"10.0.0.1"}}, "proxy_protocol: true: is only for tcp and tls"},
		{"trusted without proxy", Config{Kind: KindTCP, Address: ":1", ProxyTrusted: []string{"10.0.0.1"}}, "proxy_protocol: false"},
		{"bad client auth", Config{Kind: KindTLS, Address: ":1", TLS: TLSConfig{CertFile: "c", KeyFile: "k", ClientCAFile: "ca", ClientAuth: "optional"}}, `tls.client_auth: "optional"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), strings.SplitN(tc.err, ":", 2)[0]) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want an ErrInvalidConfig starting with the field and containing %q", err, tc.err)
			}
		})
	}
}

func TestLimitsValidate(t *testing.T) {
	mod := func(f func(*Limits)) Limits { l := DefaultLimits(); f(&l); return l }
	tests := []struct {
		name string
		lim  Limits
		err  string
	}{
		{"default", DefaultLimits(), ""},
		{"per ip off", mod(func(l *Limits) { l.PerIPConnections, l.PerIPRate, l.PerIPBurst = 0, 0, 0 }), ""},
		{"fractional rate", mod(func(l *Limits) { l.PerIPRate = 0.5; l.PerIPBurst = 1 }), ""},
		{"zero connect timeout", mod(func(l *Limits) { l.ConnectTimeout = 0 }), "connect_timeout: 0s"},
		{"huge connect timeout", mod(func(l *Limits) { l.ConnectTimeout = time.Hour }), "connect_timeout: 1h0m0s"},
		{"tiny first packet", mod(func(l *Limits) { l.MaxFirstPacket = 10 }), "max_first_packet: 10"},
		{"first packet beyond mqtt", mod(func(l *Limits) { l.MaxFirstPacket = 1 << 28 }), "max_first_packet"},
		{"packet size set", mod(func(l *Limits) { l.MaxPacketSize = 1 << 20 }), ""},
		{"packet size at mqtt max", mod(func(l *Limits) { l.MaxPacketSize = maxPacketTotal }), ""},
		{"packet size one", mod(func(l *Limits) { l.MaxPacketSize = 1 }), "max_packet_size: 1"},
		{"negative packet size", mod(func(l *Limits) { l.MaxPacketSize = -5 }), "max_packet_size: -5"},
		{"packet size beyond mqtt", mod(func(l *Limits) { l.MaxPacketSize = maxPacketTotal + 1 }), "max_packet_size: 268435461"},
		{"zero max connections", mod(func(l *Limits) { l.MaxConnections = 0 }), "max_connections: 0"},
		{"negative per ip", mod(func(l *Limits) { l.PerIPConnections = -1 }), "per_ip_connections: -1"},
		{"negative rate", mod(func(l *Limits) { l.PerIPRate = -1 }), "per_ip_rate: -1"},
		{"nan rate", mod(func(l *Limits) { l.PerIPRate = math.NaN() }), "per_ip_rate: NaN"},
		{"inf rate", mod(func(l *Limits) { l.PerIPRate = math.Inf(1) }), "per_ip_rate"},
		{"rate without burst", mod(func(l *Limits) { l.PerIPRate, l.PerIPBurst = 20, 0 }), "per_ip_burst: 0"},
		{"burst without rate", mod(func(l *Limits) { l.PerIPRate, l.PerIPBurst = 0, 0 }), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.lim.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), tc.err) {
				t.Fatalf("got %v, want an ErrInvalidConfig starting with %q", err, tc.err)
			}
		})
	}
}

func TestLimitsYAML(t *testing.T) {
	var l Limits
	// max_packet_size is the broker's key: the listener limits ignore it.
	in := "connect_timeout: 5s\nmax_first_packet: 4096\nmax_connections: 500\nper_ip_connections: 7\nper_ip_rate: 2.5\nper_ip_burst: 9\nmax_packet_size: 99\n"
	if err := yaml.Unmarshal([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	want := Limits{ConnectTimeout: 5 * time.Second, MaxFirstPacket: 4096, MaxConnections: 500, PerIPConnections: 7, PerIPRate: 2.5, PerIPBurst: 9}
	if l != want {
		t.Fatalf("decoded %+v, want %+v", l, want)
	}
	var c Config
	in = "kind: wss\naddress: 0.0.0.0:8084\npath: /ws\ntls:\n  cert_file: a.pem\n  key_file: a.key\n  client_ca_file: ca.pem\n  client_auth: require\n"
	if err := yaml.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	wantC := Config{Kind: KindWSS, Address: "0.0.0.0:8084", Path: "/ws", TLS: TLSConfig{CertFile: "a.pem", KeyFile: "a.key", ClientCAFile: "ca.pem", ClientAuth: "require"}}
	if !reflect.DeepEqual(c, wantC) {
		t.Fatalf("decoded %+v, want %+v", c, wantC)
	}
	c = Config{}
	in = "kind: tls\naddress: 0.0.0.0:8883\nproxy_protocol: true\nproxy_trusted: [10.0.0.0/8, 192.168.1.5]\nproxy_untrusted: plain\n"
	if err := yaml.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	wantC = Config{Kind: KindTLS, Address: "0.0.0.0:8883", ProxyProtocol: true, ProxyTrusted: []string{"10.0.0.0/8", "192.168.1.5"}, ProxyUntrusted: "plain"}
	if !reflect.DeepEqual(c, wantC) {
		t.Fatalf("decoded %+v, want %+v", c, wantC)
	}
}
