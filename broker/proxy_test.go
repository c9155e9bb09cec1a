package broker

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// TestAnonymousIgnoredBehindProxy: the embedded default allows anonymous
// clients on loopback listeners; a loopback listener with PROXY protocol
// serves remote clients (the load balancer is the local one), so anonymous
// access is refused there, while a plain loopback listener keeps it.
func TestAnonymousIgnoredBehindProxy(t *testing.T) {
	b := newTestBroker(t, func(c *Config) {
		c.Listeners.TCP.ProxyProtocol = true
		c.Listeners.TCP.ProxyTrusted = []string{"127.0.0.1"}
		c.Listeners.WS.Enabled = false
		c.Listeners.TLS.Enabled = false
	})
	conn, err := net.DialTimeout("tcp", b.Addr("tcp"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hdr, err := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 4242},
		&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1883}).Format()
	if err != nil {
		t.Fatal(err)
	}
	// MQTT 5 CONNECT, clean start, client id "anon", no credentials.
	connect := []byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 30, 0, 0, 4, 'a', 'n', 'o', 'n'}
	connect[1] = byte(len(connect) - 2)
	if _, err := conn.Write(append(hdr, connect...)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var ack [5]byte
	if _, err := r.Read(ack[:1]); err != nil || ack[0] != 0x20 {
		t.Fatalf("first byte %#x, err %v; want a CONNACK", ack[0], err)
	}
	if _, err := io.ReadFull(r, ack[1:]); err != nil {
		t.Fatal(err)
	}
	if ack[3] == 0 {
		t.Fatalf("anonymous CONNECT through a PROXY listener accepted (CONNACK % x)", ack)
	}
}
