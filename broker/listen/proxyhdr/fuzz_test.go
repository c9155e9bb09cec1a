package proxyhdr

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// FuzzRead feeds arbitrary bytes, split into chunks at split (one Write each,
// over net.Pipe, which hands each Write to its own Read), to Read: it must not
// panic or hang, must classify every failure, and on success the header size
// plus the bytes returned must be exactly the stream's next bytes; a header
// with a source address must round-trip through go-proxyproto's writer.
func FuzzRead(f *testing.F) {
	src := netip.MustParseAddrPort("203.0.113.7:51234")
	dst := netip.MustParseAddrPort("10.0.0.11:1883")
	for _, seed := range [][]byte{
		[]byte("PROXY TCP4 203.0.113.7 10.0.0.11 51234 1883\r\n"),
		[]byte("PROXY TCP6 2001:db8::7 2001:db8::1 40000 8883\r\n"),
		[]byte("PROXY UNKNOWN\r\n"),
		[]byte("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n"),
		v2(0x21, 0x11, v2Addrs(src, dst)),
		v2(0x21, 0x11, append(v2Addrs(src, dst), tlv(1, []byte("h2"))...)),
		v2(0x20, 0x00, nil),
		v2(0x21, 0x31, make([]byte, 216)),
		v2(0x21, 0x12, v2Addrs(src, dst)),
		connect311,
		{0x0d, 0x0a},
		nil,
	} {
		f.Add(append(append([]byte(nil), seed...), connect311...), uint16(0))
		f.Add(seed, uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		client, server := net.Pipe()
		defer server.Close()
		go func() {
			defer client.Close()
			rest := data
			for len(rest) > 0 {
				n := len(rest)
				if split > 0 && int(split) < n {
					n = int(split)
				}
				if _, err := client.Write(rest[:n]); err != nil {
					return
				}
				rest = rest[n:]
			}
		}()
		h, rest, err := Read(server, time.Second)
		if err != nil {
			// A peer gone before the first read is the connection's own
			// error (net.Pipe refuses even SetReadDeadline then).
			connErr := errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe)
			if !errors.Is(err, ErrNoHeader) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTimeout) && !connErr {
				t.Fatalf("unclassified error %v", err)
			}
			if errors.Is(err, ErrTimeout) {
				t.Fatalf("timeout on a stream that ends: %v", err)
			}
			return
		}
		if h.Size <= 0 || h.Size+len(rest) > len(data) || !bytes.Equal(data[h.Size:h.Size+len(rest)], rest) {
			t.Fatalf("size %d rest % x do not follow the stream % x", h.Size, rest, data)
		}
		if h.Source.IsValid() {
			ph := proxyproto.HeaderProxyFromAddrs(h.Version, h.SourceAddr(), net.TCPAddrFromAddrPort(h.Destination))
			b, err := ph.Format()
			if err != nil {
				t.Fatalf("format %+v: %v", h, err)
			}
			c2, s2 := net.Pipe()
			defer s2.Close()
			go func() { defer c2.Close(); _, _ = c2.Write(b) }()
			h2, _, err := Read(s2, time.Second)
			if err != nil || h2.Source != h.Source || h2.Destination != h.Destination {
				t.Fatalf("round trip of %+v: %+v, %v", h, h2, err)
			}
		}
	})
}
