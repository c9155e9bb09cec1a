package listen

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// componentName is the value of the component field (logfield.Component)
// on this package's log events.
const componentName = "listen"

// CloseLinger bounds how long a refused socket's unread input is drained
// after its answer, so the close does not turn into a RST that could destroy
// the answer in flight.
const CloseLinger = 200 * time.Millisecond

const (
	// sweepInterval is how often the Guard drops idle per-IP entries.
	sweepInterval = 10 * time.Second
	// maxTrackedIPs caps the per-IP table. Entries with open sockets are bounded by
	// MaxConnections; idle ones (kept only while their token bucket refills) are
	// swept. If the table is still full, a new address is admitted without per-IP
	// accounting (MaxConnections still applies) rather than refused.
	maxTrackedIPs = 1 << 17
)

// Guard enforces Limits at accept time for every listener of a broker: open
// sockets in total, open sockets per IP and new connections per second per IP. It
// also reports every rejection (its own and the listeners' connect_timeout,
// first-packet and TLS ones) to the Observer and the log. One Guard is shared by
// all listeners; it is safe for concurrent use. NewGuard starts one goroutine that
// evicts idle per-IP entries; Close stops it, and closes the refused sockets still
// being answered (refuse.go) and waits for their goroutines.
type Guard struct {
	lim Limits
	obs Observer
	log zerolog.Logger
	now func() time.Time

	mu        sync.Mutex
	open      int                     // admitted sockets not yet closed
	ips       map[netip.Addr]*ipState // per-IP counts and token buckets
	lastSweep time.Time

	warn sometimes // rate-limits the rejection warning
	ans  answerer  // answers refusals on tcp listeners with a CONNACK

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// ipState is one IP address's open sockets and token bucket.
type ipState struct {
	open   int       // admitted sockets from this address not yet closed
	tokens float64   // token bucket level (PerIPRate on)
	last   time.Time // time of the last refill
}

// NewGuard returns a Guard for validated limits (zero ConnectTimeout,
// MaxFirstPacket or MaxConnections get the defaults; MaxPacketSize 0 is off). obs may be nil. The log
// gets component=listen.
func NewGuard(lim Limits, obs Observer, log zerolog.Logger) *Guard {
	return newGuard(lim, obs, log, time.Now)
}

// newGuard is NewGuard with a time source (tests drive the token buckets).
func newGuard(lim Limits, obs Observer, log zerolog.Logger, now func() time.Time) *Guard {
	def := DefaultLimits()
	if lim.ConnectTimeout <= 0 {
		lim.ConnectTimeout = def.ConnectTimeout
	}
	if lim.MaxFirstPacket <= 0 {
		lim.MaxFirstPacket = def.MaxFirstPacket
	}
	if lim.MaxConnections <= 0 {
		lim.MaxConnections = def.MaxConnections
	}
	lim.MaxPacketSize = min(max(lim.MaxPacketSize, 0), maxPacketTotal) // negative: off
	if obs == nil {
		obs = nopObserver{}
	}
	g := &Guard{
		lim:  lim,
		obs:  obs,
		log:  log.With().Str(logfield.Component, componentName).Logger(),
		now:  now,
		ips:  make(map[netip.Addr]*ipState),
		warn: sometimes{every: warnInterval},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if fdLimit := openFileLimit(); fdLimit > 0 && uint64(lim.MaxConnections) >= fdLimit {
		g.log.Warn().Int(logfield.Limit, lim.MaxConnections).Uint64(logfield.RlimitNofile, fdLimit).
			Msg("max_connections is not below the file descriptor limit; accept will fail before the guard bites")
	}
	go g.sweeper()
	return g
}

// Limits returns the limits in force.
func (g *Guard) Limits() Limits { return g.lim }

// Open returns the number of admitted sockets that are not closed yet.
func (g *Guard) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// Close stops the eviction goroutine and waits for it. Idempotent. The Guard
// keeps admitting after Close (listeners may outlive it briefly), without sweeps.
func (g *Guard) Close() {
	g.closeOnce.Do(func() { close(g.stop) })
	<-g.done
	g.ans.close()
}

func (g *Guard) sweeper() {
	defer close(g.done)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.mu.Lock()
			g.sweepLocked(g.now())
			g.mu.Unlock()
		}
	}
}

// trackIPs reports whether any per-IP limit is on.
func (g *Guard) trackIPs() bool { return g.lim.PerIPConnections > 0 || g.lim.PerIPRate > 0 }

// sweepLocked drops entries without open sockets whose bucket is full again.
func (g *Guard) sweepLocked(now time.Time) {
	g.lastSweep = now
	for ip, st := range g.ips {
		if st.open == 0 && g.bucketFull(st, now) {
			delete(g.ips, ip)
		}
	}
}

func (g *Guard) bucketFull(st *ipState, now time.Time) bool {
	if g.lim.PerIPRate <= 0 {
		return true
	}
	return st.tokens+now.Sub(st.last).Seconds()*g.lim.PerIPRate >= float64(g.lim.PerIPBurst)
}

// admit applies the accept-time limits to a freshly accepted socket. On success it
// returns the socket wrapped so that closing it releases the counts exactly once;
// otherwise it reports the rejection and returns nil, after closing the socket or,
// with answer (plain tcp listeners), handing it to the answerer, which tells the
// client why in a CONNACK (refuse.go). With deferIP (PROXY protocol listeners,
// whose socket address is the load balancer's) only MaxConnections is applied
// here; admitIP applies the per-IP limits once the client's address is known.
func (g *Guard) admit(listener string, tc *net.TCPConn, answer, deferIP bool) *admittedConn {
	now := g.now()
	var ip netip.Addr
	if a, ok := tc.RemoteAddr().(*net.TCPAddr); ok && !deferIP {
		ip = a.AddrPort().Addr().Unmap()
	}
	st, reason := g.acquire(ip, now)
	if reason != "" {
		remote := tc.RemoteAddr().String()
		if !answer || !g.ans.answer(tc, nil, reason, g.lim.ConnectTimeout) {
			_ = tc.Close()
		}
		g.reject(listener, remote, reason, nil)
		return nil
	}
	g.obs.Accepted(listener)
	return &admittedConn{TCPConn: tc, g: g, ip: ip, st: st, accepted: now}
}

// admitIP applies the per-IP limits to a socket admitted with deferIP, under
// the client's address ip (from its PROXY header, or the socket's). It must be
// called once, by the goroutine serving ac, before ac is shared. On refusal it
// reports the rejection and, with answer (tcp listeners), hands the socket and
// the bytes read past the header (pre) to the answerer; otherwise it closes ac.
func (g *Guard) admitIP(listener string, ac *admittedConn, ip netip.Addr, answer bool) bool {
	ip = ip.Unmap()
	g.mu.Lock()
	st, reason := g.acquireIPLocked(ip, g.now())
	g.mu.Unlock()
	if reason == "" {
		ac.ip, ac.st = ip, st
		return true
	}
	remote := ac.RemoteAddr().String()
	if answer && ac.released.CompareAndSwap(false, true) {
		g.release(netip.Addr{}, nil) // the answerer's sockets hold no slot
		if !g.ans.answer(ac.TCPConn, ac.pre, reason, g.lim.ConnectTimeout) {
			_ = ac.TCPConn.Close()
		}
	} else {
		_ = ac.Close()
	}
	g.reject(listener, remote, reason, nil)
	return false
}

// acquire counts one socket from ip, or names the limit that refuses it.
func (g *Guard) acquire(ip netip.Addr, now time.Time) (*ipState, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open >= g.lim.MaxConnections {
		return nil, ReasonMaxConnections
	}
	st, reason := g.acquireIPLocked(ip, now)
	if reason != "" {
		return nil, reason
	}
	g.open++
	return st, ""
}

// acquireIPLocked counts one socket from ip against the per-IP limits (nothing
// when they are off or ip is invalid), or names the limit that refuses it.
func (g *Guard) acquireIPLocked(ip netip.Addr, now time.Time) (*ipState, string) {
	var st *ipState
	if g.trackIPs() && ip.IsValid() {
		st = g.ips[ip]
		if st == nil {
			if len(g.ips) >= maxTrackedIPs && now.Sub(g.lastSweep) >= time.Second {
				g.sweepLocked(now)
			}
			if len(g.ips) < maxTrackedIPs {
				st = &ipState{tokens: float64(g.lim.PerIPBurst), last: now}
				g.ips[ip] = st
			}
		}
	}
	if st != nil {
		if g.lim.PerIPConnections > 0 && st.open >= g.lim.PerIPConnections {
			return nil, ReasonPerIPConnections
		}
		if g.lim.PerIPRate > 0 {
			st.tokens += now.Sub(st.last).Seconds() * g.lim.PerIPRate
			if burst := float64(g.lim.PerIPBurst); st.tokens > burst {
				st.tokens = burst
			}
			st.last = now
			if st.tokens < 1 {
				return nil, ReasonPerIPRate
			}
			st.tokens--
		}
		st.open++
	}
	return st, ""
}

// release gives back what acquire counted.
func (g *Guard) release(ip netip.Addr, st *ipState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	if st == nil {
		return
	}
	st.open--
	if st.open == 0 && g.lim.PerIPRate <= 0 && g.ips[ip] == st {
		delete(g.ips, ip) // no bucket to keep: forget the address at once
	}
}

// tracked returns the number of per-IP entries (for tests).
func (g *Guard) tracked() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.ips)
}

// reject reports a connection closed by a limit: Observer.Rejected, a debug log
// line, and a warning at most every warnInterval saying how many it stands for.
func (g *Guard) reject(listener, remote, reason string, err error) {
	g.obs.Rejected(listener, reason)
	if ok, n := g.warn.allow(g.now()); ok {
		g.log.Warn().Err(err).Str(logfield.Listener, listener).Str(logfield.Remote, remote).Str(logfield.Reason, reason).
			Int(logfield.Suppressed, n).Msg("connection rejected")
		return
	}
	g.log.Debug().Err(err).Str(logfield.Listener, listener).Str(logfield.Remote, remote).Str(logfield.Reason, reason).
		Msg("connection rejected")
}

// admittedConn is an accepted TCP socket that holds a Guard slot until closed.
type admittedConn struct {
	*net.TCPConn
	g        *Guard
	ip       netip.Addr // the address the per-IP limits count (the client's)
	st       *ipState
	accepted time.Time
	released atomic.Bool

	// Set by the serving goroutine after a PROXY header, before the socket is
	// shared: the client's address, and the bytes read past the header, which
	// Read returns before reading the socket (reader goroutine only).
	remote net.Addr
	pre    []byte
}

// RemoteAddr returns the client's address: from its PROXY header when there
// was one, else the socket's peer.
func (c *admittedConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.TCPConn.RemoteAddr()
}

// Read returns the bytes read past a PROXY header first, then reads the socket.
func (c *admittedConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		if c.pre = c.pre[n:]; len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.TCPConn.Read(p)
}

// WriteTo keeps io.Copy from the socket (TCPConn.WriteTo) from skipping pre.
func (c *admittedConn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(c.pre) > 0 {
		m, err := w.Write(c.pre)
		n, c.pre = int64(m), nil
		if err != nil {
			return n, err
		}
	}
	m, err := c.TCPConn.WriteTo(w)
	return n + m, err
}

// Close closes the socket and releases its Guard slot (once).
func (c *admittedConn) Close() error {
	err := c.TCPConn.Close()
	if c.released.CompareAndSwap(false, true) {
		c.g.release(c.ip, c.st)
	}
	return err
}
