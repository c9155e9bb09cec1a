package listen

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Accept retry backoff: it starts at acceptBackoffMin, doubles on each consecutive
// failure up to acceptBackoffMax and resets after a successful Accept.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// acceptor is a net.Listener over the bound TCP socket that never gives up: a
// failed Accept (EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED, timeouts, anything
// else) is reported, logged (rate-limited) and retried after a backoff; only Close
// ends it, and then Accept returns net.ErrClosed. Every accepted socket passes the
// Guard before Accept returns it, so rejected sockets never reach mochi or the
// HTTP server. The TCP accept loop and the ws http.Server both use it.
type acceptor struct {
	ln   *net.TCPListener
	id   string
	g    *Guard
	log  zerolog.Logger               // carries the listener field
	wrap func(*admittedConn) net.Conn // tls/wss: wraps the socket in TLS; else nil
	// answer: refused sockets get a CONNACK (plain tcp listeners only; set
	// before Accept is first called).
	answer bool
	// deferIP: the per-IP limits wait for the client's address (PROXY
	// protocol listeners; set before Accept is first called).
	deferIP bool

	warn sometimes

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

func newAcceptor(ln *net.TCPListener, id string, g *Guard, log zerolog.Logger, wrap func(*admittedConn) net.Conn) *acceptor {
	return &acceptor{
		ln:   ln,
		id:   id,
		g:    g,
		log:  log,
		wrap: wrap,
		warn: sometimes{every: warnInterval},
		done: make(chan struct{}),
	}
}

// Accept waits for the next socket that passes the Guard.
func (a *acceptor) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		tc, err := a.ln.AcceptTCP()
		if err != nil {
			select {
			case <-a.done:
				return nil, net.ErrClosed
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil, err // the socket was closed under us: nothing left to retry
			}
			backoff = nextBackoff(backoff)
			a.g.obs.AcceptError(a.id, err)
			a.logAcceptError(err, backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-a.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		backoff = 0
		ac := a.g.admit(a.id, tc, a.answer, a.deferIP)
		if ac == nil {
			continue
		}
		a.g.obs.Accepted(a.id)
		if a.wrap != nil {
			return a.wrap(ac), nil
		}
		return ac, nil
	}
}

func (a *acceptor) logAcceptError(err error, backoff time.Duration) {
	ok, n := a.warn.allow(time.Now())
	if !ok {
		return
	}
	msg := "accept failed; retrying"
	if isResourceError(err) {
		msg = "accept failed for lack of resources; retrying"
	}
	a.log.Warn().Err(err).Dur(fieldBackoff, backoff).Int(fieldSuppressed, n).Msg(msg)
}

// Close stops Accept and closes the socket. Idempotent.
func (a *acceptor) Close() error {
	a.closeOnce.Do(func() {
		close(a.done)
		a.closeErr = a.ln.Close()
	})
	return a.closeErr
}

// Addr returns the bound address.
func (a *acceptor) Addr() net.Addr { return a.ln.Addr() }

func nextBackoff(d time.Duration) time.Duration {
	if d < acceptBackoffMin {
		return acceptBackoffMin
	}
	d *= 2
	if d > acceptBackoffMax {
		d = acceptBackoffMax
	}
	return d
}

// isResourceError reports whether an Accept error is a known transient one: out of
// descriptors, buffers or memory, a connection aborted before accept, a timeout.
func isResourceError(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
