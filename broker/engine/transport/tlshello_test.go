package transport

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHelloPlan: the fragments cover the record exactly, each fits helloFrag,
// and a record that fits is not cut.
func TestHelloPlan(t *testing.T) {
	for size := 1; size <= maxPlaintext; size++ {
		plan := helloPlan(size)
		sum := 0
		for _, f := range plan {
			if f <= 0 || f > helloFrag {
				t.Fatalf("size %d: fragment %d in %v", size, f, plan)
			}
			sum += f
		}
		if sum != size {
			t.Fatalf("size %d: plan %v sums to %d", size, plan, sum)
		}
		if (len(plan) == 1) != (size <= helloFrag) {
			t.Fatalf("size %d: %d fragments", size, len(plan))
		}
	}
	if got := helloPlan(1500); got[0] != 375 || got[1] != 375 {
		t.Fatalf("1500: %v, want two quarters first", got)
	}
}

// drainHello returns everything read returns with p of n bytes per call, one
// slice per call.
func drainHello(h *tlsHello, sock io.Reader, n int) [][]byte {
	var out [][]byte
	for {
		p := make([]byte, n)
		m := h.read(sock, p)
		if m == 0 {
			return out
		}
		out = append(out, p[:m])
	}
}

// FuzzSplitHello: whatever the client sends first, the bytes crypto/tls reads
// are either the same bytes, or (a whole plaintext handshake record first)
// the same record cut into records of the same type and version whose
// payloads concatenate to the original, followed by the rest unchanged; and no
// read crosses a record boundary of the cut records.
func FuzzSplitHello(f *testing.F) {
	rec := func(typ byte, n int) []byte {
		b := []byte{typ, 3, 1, byte(n >> 8), byte(n)}
		return append(b, bytes.Repeat([]byte{0xab}, n)...)
	}
	f.Add(rec(22, 1500), uint16(576))
	f.Add(append(rec(22, 300), rec(23, 40)...), uint16(512))
	f.Add(rec(22, 3000)[:1000], uint16(600))
	f.Add(rec(23, 100), uint16(576))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint16(64))
	f.Add(rec(22, 0), uint16(576))
	f.Add(rec(22, maxPlaintext+1), uint16(4096))
	f.Fuzz(func(t *testing.T, in []byte, readSize uint16) {
		n := int(readSize)%4096 + 1
		h := &tlsHello{pre: append([]byte(nil), in...)}
		parts := drainHello(h, bytes.NewReader(nil), n)
		got := bytes.Join(parts, nil)
		if len(in) < recordHeader || in[0] != recordTypeHandshake {
			if !bytes.Equal(got, in) {
				t.Fatalf("not a handshake record: bytes changed")
			}
			return
		}
		size := int(binary.BigEndian.Uint16(in[3:]))
		if size == 0 || size > maxPlaintext || len(in) < recordHeader+size {
			if !bytes.Equal(got, in) {
				t.Fatalf("not a whole record (size %d, %d bytes): bytes changed", size, len(in))
			}
			return
		}
		var payload []byte
		rest := got
		for range helloPlan(size) {
			if len(rest) < recordHeader || !bytes.Equal(rest[:3], in[:3]) {
				t.Fatalf("bad fragment header % x", rest[:min(len(rest), recordHeader)])
			}
			m := int(binary.BigEndian.Uint16(rest[3:]))
			if m == 0 || m > helloFrag {
				t.Fatalf("fragment of %d bytes", m)
			}
			payload = append(payload, rest[recordHeader:recordHeader+m]...)
			rest = rest[recordHeader+m:]
		}
		if !bytes.Equal(payload, in[recordHeader:recordHeader+size]) {
			t.Fatal("fragments do not concatenate to the record")
		}
		if !bytes.Equal(rest, in[recordHeader+size:]) {
			t.Fatal("bytes after the record changed")
		}
		// Reads of the cut records end at record boundaries.
		at, end := 0, 0
		cut := len(got) - len(rest)
		for _, p := range parts {
			if at == end && at < cut {
				end = at + recordHeader + int(binary.BigEndian.Uint16(got[at+3:]))
			}
			if at < cut && at+len(p) > end {
				t.Fatalf("a read of %d bytes at %d crosses the record end %d", len(p), at, end)
			}
			at += len(p)
		}
	})
}

// splitConn sends its first Write (the ClientHello record) as two records.
type splitConn struct {
	net.Conn
	done bool
}

func (s *splitConn) Write(b []byte) (int, error) {
	if s.done || len(b) < recordHeader+2 || b[0] != recordTypeHandshake {
		return s.Conn.Write(b)
	}
	s.done = true
	size := int(binary.BigEndian.Uint16(b[3:]))
	body := b[recordHeader : recordHeader+size]
	half := size / 2
	var out []byte
	for _, part := range [][]byte{body[:half], body[half:]} {
		out = append(out, b[0], b[1], b[2], byte(len(part)>>8), byte(len(part)))
		out = append(out, part...)
	}
	out = append(out, b[recordHeader+size:]...)
	if _, err := s.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// TestTLSHelloShapes: handshakes whose first record the layer cuts differently
// all complete and carry MQTT: TLS 1.2, a ClientHello of ~4 KB (cut in
// eighths), one that fits a single fragment (X25519 only), one the client
// itself sent in two records, one arriving a few bytes at a time.
func TestTLSHelloShapes(t *testing.T) {
	cfg, ct := tlsTestConfig(t)
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	var alpn []string
	for i := range 200 {
		alpn = append(alpn, "proto-"+strings.Repeat("x", 10)+strconv.Itoa(i))
	}
	cases := []struct {
		name string
		mod  func(*tls.Config)
		wrap func(net.Conn) net.Conn
	}{
		{"tls12", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }, nil},
		{"large", func(c *tls.Config) { c.NextProtos = alpn }, nil},
		{"small", func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519} }, nil},
		{"two-records", nil, func(nc net.Conn) net.Conn { return &splitConn{Conn: nc} }},
		{"trickle", nil, func(nc net.Conn) net.Conn { return &trickleConn{Conn: nc} }},
	}
	for i, tc := range cases {
		c := ct.Clone()
		if tc.mod != nil {
			tc.mod(c)
		}
		var raw net.Conn = dial(t, s, "tls")
		if tc.wrap != nil {
			raw = tc.wrap(raw)
		}
		cl := tls.Client(raw, c)
		_ = cl.SetDeadline(time.Now().Add(5 * time.Second))
		if err := cl.Handshake(); err != nil {
			t.Fatalf("%s: handshake: %v", tc.name, err)
		}
		mustWrite(t, cl, connectPacket(4, 0, tc.name))
		if got := readN(t, cl, 4); got[0] != 0x20 {
			t.Fatalf("%s: CONNACK % x", tc.name, got)
		}
		mustWrite(t, cl, []byte{0xc0, 0})
		if got := readN(t, cl, 2); got[0] != 0xd0 {
			t.Fatalf("%s: PINGRESP % x", tc.name, got)
		}
		waitFor(t, tc.name+" open", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.opened == i+1
		})
	}
}

// trickleConn writes in pieces of 7 bytes (TCP_NODELAY: the ClientHello may
// reach the server in many reads).
type trickleConn struct{ net.Conn }

func (c *trickleConn) Write(b []byte) (int, error) {
	for i := 0; i < len(b); i += 7 {
		if _, err := c.Conn.Write(b[i:min(i+7, len(b))]); err != nil {
			return i, err
		}
	}
	return len(b), nil
}
