package proxyhdr

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Untrusted policies: what a PROXY listener does with a peer outside the
// trusted list.
const (
	// UntrustedRefuse closes the connection at once (the default).
	UntrustedRefuse = "refuse"
	// UntrustedPlain serves it as a plain connection under its socket address;
	// it may not send a header.
	UntrustedPlain = "plain"
)

// Action is Policy.Decide's verdict for one peer.
type Action int

const (
	// Refuse: close the connection without reading from it.
	Refuse Action = iota
	// Expect: the peer is trusted; read a header (Read) before anything else.
	Expect
	// Plain: serve the connection as if PROXY protocol were off.
	Plain
)

// String names the action (for logs and tests).
func (a Action) String() string {
	switch a {
	case Expect:
		return "expect"
	case Plain:
		return "plain"
	default:
		return "refuse"
	}
}

// Policy decides, per peer address, whether a connection of a PROXY listener
// must carry a header, is served plain or is refused. It is immutable and safe
// for concurrent use.
type Policy struct {
	trusted Trusted
	plain   bool
}

// NewPolicy returns the policy for a trusted list (at least one entry: PROXY
// protocol without a trusted source would let anyone claim any address) and an
// untrusted policy: UntrustedRefuse, UntrustedPlain, or "" for UntrustedRefuse.
// Errors wrap ErrInvalidTrusted and name the offending entry.
func NewPolicy(trusted []string, untrusted string) (Policy, error) {
	if len(trusted) == 0 {
		return Policy{}, fmt.Errorf("empty list: name the load balancers' addresses: %w", ErrInvalidTrusted)
	}
	t, err := ParseTrusted(trusted)
	if err != nil {
		return Policy{}, err
	}
	switch untrusted {
	case "", UntrustedRefuse:
		return Policy{trusted: t}, nil
	case UntrustedPlain:
		return Policy{trusted: t, plain: true}, nil
	}
	return Policy{}, fmt.Errorf("untrusted policy %s: must be refuse or plain: %w", strconv.Quote(untrusted), ErrInvalidTrusted)
}

// Decide returns what to do with a connection from peer.
func (p Policy) Decide(peer netip.Addr) Action {
	switch {
	case p.trusted.Contains(peer):
		return Expect
	case p.plain:
		return Plain
	default:
		return Refuse
	}
}

// Trusted returns the trusted list.
func (p Policy) Trusted() Trusted { return p.trusted }
