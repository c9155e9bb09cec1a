package proxyhdr

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"
)

// v2Sig is the 12-byte v2 signature.
var v2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// v2 builds a version 2 header: cmd 0x20 LOCAL or 0x21 PROXY, fam 0x11 TCP
// over IPv4, 0x21 TCP over IPv6, 0x00 UNSPEC, ...; body is the address block
// and TLVs.
func v2(cmd, fam byte, body []byte) []byte {
	b := append([]byte(nil), v2Sig...)
	b = append(b, cmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(body)))
	return append(b, body...)
}

// v2Addrs is the address block of src and dst (both IPv4 or both IPv6).
func v2Addrs(src, dst netip.AddrPort) []byte {
	var b []byte
	if src.Addr().Is4() {
		s, d := src.Addr().As4(), dst.Addr().As4()
		b = append(append(b, s[:]...), d[:]...)
	} else {
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(append(b, s[:]...), d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// tlv is one v2 type-length-value entry.
func tlv(typ byte, v []byte) []byte {
	b := []byte{typ, 0, 0}
	binary.BigEndian.PutUint16(b[1:], uint16(len(v)))
	return append(b, v...)
}

// connect311 is a minimal MQTT 3.1.1 CONNECT (client id "c").
var connect311 = []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 1, 'c'}

// tcpPair returns the two ends of a real loopback TCP connection: the client's
// and the server's (as accepted). Both are closed at cleanup.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	server, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return client, server
}
