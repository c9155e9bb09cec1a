package cluster

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// LimitObserver counts refusals by a configured bound (hooks/metrics:
// (*Metrics).LimitRefused, imqtt_limit_refusals_total{limit}). It must not
// block.
type LimitObserver interface {
	LimitRefused(limit string)
}

// limitHandshakeTimeout is the limit label of a connection closed because it
// did not authenticate within Config.HandshakeTimeout.
const limitHandshakeTimeout = "cluster.handshake_timeout"

// authLogEvery is the shortest interval between two handshake failure log
// lines; the failures in between are counted in the next line's suppressed.
const authLogEvery = time.Second

// Handshake sides.
const (
	sideInbound  = 0 // this node accepted the connection
	sideOutbound = 1 // this node dialled
)

var sideNames = [2]string{"inbound", "outbound"}

// authenticator runs the handshake of every cluster connection (handshake.go)
// with the node's secret and timeout, counts successes and failures and logs
// failures (Warn, at most one line per authLogEvery). Safe for concurrent use.
type authenticator struct {
	secret  []byte // nil: TLS alone authenticates
	timeout time.Duration
	log     zerolog.Logger
	limits  atomic.Pointer[LimitObserver]

	ok     [2]atomic.Uint64
	failed [2][len(handshakeReasons)]atomic.Uint64

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed uint64
}

// accept authenticates an accepted connection (the TLS handshake first, if
// c is TLS) and returns the kind the dialler announced. On error the caller
// closes c.
func (a *authenticator) accept(c net.Conn) (byte, error) {
	_ = c.SetDeadline(time.Now().Add(a.timeout))
	kind, err := a.acceptConn(c)
	if err != nil {
		a.fail(sideInbound, c, err)
		return 0, err
	}
	_ = c.SetDeadline(time.Time{})
	a.ok[sideInbound].Add(1)
	return kind, nil
}

func (a *authenticator) acceptConn(c net.Conn) (byte, error) {
	if err := tlsHandshake(c); err != nil {
		return 0, err
	}
	return acceptHandshake(c, a.secret)
}

// tlsHandshake runs the TLS handshake first when c is TLS (within c's
// deadline), so a TLS failure is told apart (ReasonTLS).
func tlsHandshake(c net.Conn) error {
	tc, ok := unwrapConn(c).(*tls.Conn)
	if !ok {
		return nil
	}
	if err := tc.HandshakeContext(context.Background()); err != nil {
		if reasonOf(err) == ReasonTimeout {
			return failed(err)
		}
		return &handshakeError{reason: ReasonTLS, err: err}
	}
	return nil
}

// dial authenticates a dialled connection (the TLS handshake first, if c is
// TLS) announcing kind, within timeout
// (or the configured handshake timeout, if shorter). On error the caller
// closes c.
func (a *authenticator) dial(c net.Conn, kind byte, timeout time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(min(timeout, a.timeout)))
	err := tlsHandshake(c)
	if err == nil {
		err = dialHandshake(c, a.secret, kind)
	}
	if err != nil {
		a.fail(sideOutbound, c, err)
		return err
	}
	_ = c.SetDeadline(time.Time{})
	a.ok[sideOutbound].Add(1)
	return nil
}

// fail counts and logs a failed handshake.
func (a *authenticator) fail(side int, c net.Conn, err error) {
	reason := reasonOf(err)
	for i, r := range handshakeReasons {
		if r == reason {
			a.failed[side][i].Add(1)
		}
	}
	if reason == ReasonTimeout {
		if o := a.limits.Load(); o != nil {
			(*o).LimitRefused(limitHandshakeTimeout)
		}
	}
	a.logMu.Lock()
	now := time.Now()
	if !a.lastLog.IsZero() && now.Sub(a.lastLog) < authLogEvery {
		a.suppressed++
		a.logMu.Unlock()
		return
	}
	suppressed := a.suppressed
	a.suppressed, a.lastLog = 0, now
	a.logMu.Unlock()
	a.log.Warn().Err(err).
		Str(logfield.Side, sideNames[side]).
		Str(logfield.Remote, c.RemoteAddr().String()).
		Str(logfield.Reason, reason).
		Uint64(logfield.Suppressed, suppressed).
		Msg("cluster connection refused: handshake failed")
}

// HandshakeStats counts the authentication of cluster connections since
// Open: inbound (accepted) and outbound (dialled), failures by reason
// (ReasonBadProof, ...).
type HandshakeStats struct {
	InboundOK      uint64            `json:"inbound_ok"`
	OutboundOK     uint64            `json:"outbound_ok"`
	InboundFailed  map[string]uint64 `json:"inbound_failed"`
	OutboundFailed map[string]uint64 `json:"outbound_failed"`
}

// stats returns the counters.
func (a *authenticator) stats() HandshakeStats {
	st := HandshakeStats{
		InboundOK:      a.ok[sideInbound].Load(),
		OutboundOK:     a.ok[sideOutbound].Load(),
		InboundFailed:  map[string]uint64{},
		OutboundFailed: map[string]uint64{},
	}
	for i, r := range handshakeReasons {
		st.InboundFailed[r] = a.failed[sideInbound][i].Load()
		st.OutboundFailed[r] = a.failed[sideOutbound][i].Load()
	}
	return st
}

// unwrapConn returns the connection a trackedConn wraps.
func unwrapConn(c net.Conn) net.Conn {
	if tc, ok := c.(*trackedConn); ok {
		return tc.Conn
	}
	return c
}
