package proxyhdr

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestParseTrusted(t *testing.T) {
	tr, err := ParseTrusted([]string{"10.0.0.0/8", "192.168.1.5", " ::1 ", "fd00::/8", "::ffff:172.16.0.0/108"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3":          true,
		"11.0.0.1":          false,
		"192.168.1.5":       true,
		"192.168.1.6":       false,
		"::1":               true,
		"127.0.0.1":         false,
		"fd12::1":           true,
		"fe80::1":           false,
		"::ffff:10.9.9.9":   true, // mapped counts as IPv4
		"172.16.3.4":        true, // the mapped prefix counts as 172.16.0.0/12
		"172.32.0.1":        false,
		"::ffff:172.16.0.1": true,
	} {
		if got := tr.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	if !tr.ContainsAddr(&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 5}) {
		t.Error("ContainsAddr(10.0.0.1:5) = false")
	}
	if tr.ContainsAddr(&net.UnixAddr{Name: "/x"}) {
		t.Error("ContainsAddr(unix) = true")
	}
	if tr.Len() != 5 || tr.String() != "10.0.0.0/8,192.168.1.5/32,::1/128,fd00::/8,172.16.0.0/12" {
		t.Errorf("Len %d String %q", tr.Len(), tr.String())
	}
	for _, bad := range []string{"", "10.0.0.5/8", "10.0.0.0/33", "host.example", "fe80::1%eth0", "10.0.0.0/8/1"} {
		if _, err := ParseTrusted([]string{bad}); !errors.Is(err, ErrInvalidTrusted) {
			t.Errorf("ParseTrusted(%q): %v, want ErrInvalidTrusted", bad, err)
		}
	}
	var zero Trusted
	if zero.Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("zero Trusted trusts someone")
	}
}

func TestPolicy(t *testing.T) {
	lb := netip.MustParseAddr("10.0.0.2")
	other := netip.MustParseAddr("198.51.100.1")
	for _, tc := range []struct {
		untrusted string
		lb, other Action
	}{
		{"", Expect, Refuse},
		{UntrustedRefuse, Expect, Refuse},
		{UntrustedPlain, Expect, Plain},
	} {
		p, err := NewPolicy([]string{"10.0.0.0/24"}, tc.untrusted)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Decide(lb); got != tc.lb {
			t.Errorf("%q: Decide(lb) = %v, want %v", tc.untrusted, got, tc.lb)
		}
		if got := p.Decide(other); got != tc.other {
			t.Errorf("%q: Decide(other) = %v, want %v", tc.untrusted, got, tc.other)
		}
	}
	if _, err := NewPolicy(nil, ""); !errors.Is(err, ErrInvalidTrusted) {
		t.Errorf("empty trusted list: %v", err)
	}
	if _, err := NewPolicy([]string{"10.0.0.1"}, "allow"); !errors.Is(err, ErrInvalidTrusted) {
		t.Errorf("unknown untrusted policy: %v", err)
	}
	if _, err := NewPolicy([]string{"nope"}, ""); !errors.Is(err, ErrInvalidTrusted) {
		t.Errorf("bad entry: %v", err)
	}
}
