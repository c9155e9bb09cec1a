package proxyhdr

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestReadHeaders(t *testing.T) {
	src4 := netip.MustParseAddrPort("203.0.113.7:51234")
	dst4 := netip.MustParseAddrPort("10.0.0.11:1883")
	src6 := netip.MustParseAddrPort("[2001:db8::7]:40000")
	dst6 := netip.MustParseAddrPort("[2001:db8::1]:8883")
	mapped := netip.MustParseAddrPort("[::ffff:198.51.100.9]:1000")
	cases := []struct {
		name    string
		hdr     []byte
		version byte
		local   bool
		src     netip.AddrPort
		dst     netip.AddrPort
	}{
		{"v1 tcp4", []byte("PROXY TCP4 203.0.113.7 10.0.0.11 51234 1883\r\n"), 1, false, src4, dst4},
		{"v1 tcp6", []byte("PROXY TCP6 2001:db8::7 2001:db8::1 40000 8883\r\n"), 1, false, src6, dst6},
		{"v1 unknown", []byte("PROXY UNKNOWN\r\n"), 1, true, netip.AddrPort{}, netip.AddrPort{}},
		{"v1 unknown with addresses", []byte("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"), 1, true, netip.AddrPort{}, netip.AddrPort{}},
		{"v2 tcp4", v2(0x21, 0x11, v2Addrs(src4, dst4)), 2, false, src4, dst4},
		{"v2 tcp6", v2(0x21, 0x21, v2Addrs(src6, dst6)), 2, false, src6, dst6},
		{"v2 tcp6 v4-mapped", v2(0x21, 0x21, v2Addrs(mapped, dst6)), 2, false, netip.MustParseAddrPort("198.51.100.9:1000"), dst6},
		{"v2 tlvs ignored", v2(0x21, 0x11, append(v2Addrs(src4, dst4),
			append(tlv(0x01, []byte("mqtt")), tlv(0x02, []byte("broker.example"))...)...)), 2, false, src4, dst4},
		{"v2 local unspec", v2(0x20, 0x00, nil), 2, true, netip.AddrPort{}, netip.AddrPort{}},
		{"v2 local with addresses", v2(0x20, 0x11, v2Addrs(src4, dst4)), 2, true, netip.AddrPort{}, netip.AddrPort{}},
		{"v2 local short block", v2(0x20, 0x11, nil), 2, true, netip.AddrPort{}, netip.AddrPort{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			if _, err := client.Write(append(append([]byte(nil), tc.hdr...), connect311...)); err != nil {
				t.Fatal(err)
			}
			h, rest, err := Read(server, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != tc.version || h.Local != tc.local || h.Source != tc.src || h.Destination != tc.dst {
				t.Fatalf("header %+v, want version %d local %v source %v destination %v", h, tc.version, tc.local, tc.src, tc.dst)
			}
			if h.Size != len(tc.hdr) {
				t.Fatalf("size %d, want %d", h.Size, len(tc.hdr))
			}
			// What Read took past the header plus what is still in the socket is
			// the CONNECT, byte for byte.
			got := append([]byte(nil), rest...)
			if len(got) < len(connect311) {
				more := make([]byte, len(connect311)-len(got))
				if _, err := io.ReadFull(server, more); err != nil {
					t.Fatal(err)
				}
				got = append(got, more...)
			}
			if !bytes.Equal(got, connect311) {
				t.Fatalf("stream after the header % x, want % x", got, connect311)
			}
			if tc.src.IsValid() {
				if a := h.SourceAddr().String(); a != tc.src.String() {
					t.Fatalf("SourceAddr %s, want %s", a, tc.src)
				}
			} else if h.SourceAddr() != nil {
				t.Fatalf("SourceAddr %v, want nil", h.SourceAddr())
			}
		})
	}
}

func TestReadRefusesMalformed(t *testing.T) {
	src := netip.MustParseAddrPort("203.0.113.7:51234")
	dst := netip.MustParseAddrPort("10.0.0.11:1883")
	bad := func(b []byte, i int, v byte) []byte { b = append([]byte(nil), b...); b[i] = v; return b }
	good := v2(0x21, 0x11, v2Addrs(src, dst))
	cases := []struct {
		name string
		data []byte
	}{
		{"v1 port out of range", []byte("PROXY TCP4 203.0.113.7 10.0.0.11 70000 1883\r\n")},
		{"v1 wrong family", []byte("PROXY TCP4 2001:db8::7 10.0.0.11 1 1883\r\n")},
		{"v1 bare LF", []byte("PROXY TCP4 203.0.113.7 10.0.0.11 1 1883\n")},
		{"v1 extra token", []byte("PROXY TCP4 203.0.113.7 10.0.0.11 1 1883 x\r\n")},
		{"v1 too long", append([]byte("PROXY UNKNOWN "), bytes.Repeat([]byte("a"), 120)...)},
		{"v1 udp", []byte("PROXY UDP4 203.0.113.7 10.0.0.11 1 1883\r\n")},
		{"v2 version 3", bad(good, 12, 0x31)},
		{"v2 command 2", bad(good, 12, 0x22)},
		{"v2 unknown family", bad(good, 13, 0x13)},
		{"v2 proxy unspec", v2(0x21, 0x00, nil)},
		{"v2 length short of the address block", v2(0x21, 0x11, v2Addrs(src, dst)[:8])},
		{"v2 length beyond 4096", v2(0x21, 0x11, append(v2Addrs(src, dst), tlv(0xe0, make([]byte, 4100))...))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := tcpPair(t)
			go func() { _, _ = client.Write(tc.data) }()
			if _, _, err := Read(server, 5*time.Second); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

func TestReadNoHeader(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := client.Write(connect311); err != nil {
		t.Fatal(err)
	}
	_, rest, err := Read(server, 5*time.Second)
	if !errors.Is(err, ErrNoHeader) {
		t.Fatalf("err %v, want ErrNoHeader", err)
	}
	if len(rest) == 0 || !bytes.HasPrefix(connect311, rest) {
		t.Fatalf("rest % x, want a prefix of the CONNECT", rest)
	}
}

// TestReadDeadline: a peer that sends nothing, or a truncated header, is cut
// at the deadline, not later, and the error says so.
func TestReadDeadline(t *testing.T) {
	full := v2(0x21, 0x11, v2Addrs(netip.MustParseAddrPort("1.2.3.4:5"), netip.MustParseAddrPort("5.6.7.8:9")))
	for name, sent := range map[string][]byte{
		"silent":              nil,
		"v1 signature only":   []byte("PRO"),
		"v2 signature only":   full[:12],
		"v2 truncated block":  full[:20],
		"v2 prefix then none": full[:len(full)-1],
	} {
		t.Run(name, func(t *testing.T) {
			client, server := tcpPair(t)
			if len(sent) > 0 {
				if _, err := client.Write(sent); err != nil {
					t.Fatal(err)
				}
			}
			const timeout = 150 * time.Millisecond
			start := time.Now()
			_, _, err := Read(server, timeout)
			took := time.Since(start)
			if !errors.Is(err, ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err %v, want ErrTimeout", err)
			}
			if took < timeout || took > timeout+2*time.Second {
				t.Fatalf("took %v, want about %v", took, timeout)
			}
			// The deadline is cleared: the connection is the caller's again.
			if _, err := client.Write([]byte{1}); err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 1)
			if _, err := server.Read(b); err != nil {
				t.Fatalf("read after Read: %v (deadline left set?)", err)
			}
		})
	}
}

// TestReadV1SplitRefused: a v1 line that does not arrive in one read is
// refused at once (go-proxyproto's rule; the spec asks senders to send it at
// once), not waited for byte by byte. net.Pipe delivers each Write to its
// own Read, which makes the split deterministic.
func TestReadV1SplitRefused(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() {
		_, _ = client.Write([]byte("PROXY TCP4 203.0.113.7 "))
		_, _ = client.Write([]byte("10.0.0.11 51234 1883\r\n"))
	}()
	if _, _, err := Read(server, 5*time.Second); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v, want ErrMalformed", err)
	}
}

// TestReadV2Split: a v2 header arriving in pieces is read whole.
func TestReadV2Split(t *testing.T) {
	src := netip.MustParseAddrPort("203.0.113.7:51234")
	hdr := v2(0x21, 0x11, v2Addrs(src, netip.MustParseAddrPort("10.0.0.11:1883")))
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	go func() {
		for _, b := range hdr {
			if _, err := client.Write([]byte{b}); err != nil {
				return
			}
		}
		_, _ = client.Write(connect311)
	}()
	h, _, err := Read(server, 5*time.Second)
	if err != nil || h.Source != src {
		t.Fatalf("header %+v, err %v; want source %v", h, err, src)
	}
}

func TestReadClosedPeer(t *testing.T) {
	client, server := tcpPair(t)
	_ = client.Close()
	if _, _, err := Read(server, 5*time.Second); err == nil {
		t.Fatal("Read on a closed peer succeeded")
	}
}
