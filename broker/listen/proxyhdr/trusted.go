package proxyhdr

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Trusted is a list of address prefixes allowed to send PROXY headers. The zero
// value trusts nobody. It is immutable and safe for concurrent use.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParseTrusted parses CIDR prefixes ("10.0.0.0/8", "fd00::/8") and single IP
// addresses ("10.0.0.5", "::1"). IPv4-mapped IPv6 entries count as IPv4. An
// entry that is neither, or that has host bits set ("10.0.0.5/8", a likely
// typo), is an error wrapping ErrInvalidTrusted that names it.
func ParseTrusted(list []string) (Trusted, error) {
	out := Trusted{prefixes: make([]netip.Prefix, 0, len(list))}
	for i, s := range list {
		p, err := parseEntry(strings.TrimSpace(s))
		if err != nil {
			return Trusted{}, fmt.Errorf("[%d]: %s: %w: %w", i, strconv.Quote(s), err, ErrInvalidTrusted)
		}
		out.prefixes = append(out.prefixes, p)
	}
	return out, nil
}

func parseEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("host bits set (did you mean %s?)", p.Masked())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("zones are not supported")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Len returns the number of entries.
func (t Trusted) Len() int { return len(t.prefixes) }

// Contains reports whether a (unmapped first) is in one of the prefixes.
func (t Trusted) Contains(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ContainsAddr is Contains for a socket address (*net.TCPAddr); other address
// types are never trusted.
func (t Trusted) ContainsAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	return t.Contains(ta.AddrPort().Addr())
}

// String lists the prefixes, comma-separated (for logs).
func (t Trusted) String() string {
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
