//go:build linux

package transport

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// epollSupported: Config.Poller may be PollerEpoll (the default).
const epollSupported = true

// pollEvents arms a connection for one report of input, EOF or an error.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// pollBatch is the events one epoll_wait returns at most.
const pollBatch = 128

// stopFd marks the stop eventfd's events (no socket has fd -1).
const stopFd = -1

// poller is the epoll side of the epoll path (poller.go): a few epoll
// instances, each with its goroutine, and the table that maps an event back to
// its connection. A socket belongs to the instance fd % len(eps).
type poller struct {
	eps  []int // epoll instances
	stop []int // one eventfd per instance: written by close, wakes its goroutine
	gen  atomic.Uint32
	wg   sync.WaitGroup
	log  zerolog.Logger

	mu    sync.RWMutex
	conns []pollSlot // by socket fd
}

// pollSlot is one registered socket.
type pollSlot struct {
	c   *Conn
	gen uint32
}

// pollers is the default number of epoll goroutines: one per 4 CPUs.
func pollers() int { return max(1, runtime.GOMAXPROCS(0)/4) }

// newPoller creates n epoll instances and their stop eventfds.
func newPoller(n int, log zerolog.Logger) (*poller, error) {
	p := &poller{log: log}
	for range n {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			p.closeFds()
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		p.eps = append(p.eps, ep)
		ev, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
		if err != nil {
			p.closeFds()
			return nil, fmt.Errorf("eventfd: %w", err)
		}
		p.stop = append(p.stop, ev)
		e := unix.EpollEvent{Events: unix.EPOLLIN, Fd: stopFd}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ev, &e); err != nil {
			p.closeFds()
			return nil, fmt.Errorf("epoll_ctl stop: %w", err)
		}
	}
	return p, nil
}

// start starts one goroutine per epoll instance; close stops them.
func (p *poller) start() {
	p.wg.Add(len(p.eps))
	for _, ep := range p.eps {
		go p.loop(ep)
	}
}

// loop waits for events on ep and hands each armed connection to a worker
// (Conn.ready), until close writes the stop eventfd.
func (p *poller) loop(ep int) {
	defer p.wg.Done()
	events := make([]unix.EpollEvent, pollBatch)
	for {
		n, err := unix.EpollWait(ep, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			// EBADF/EINVAL: the instance is gone, which close alone does
			// after this goroutine returned; its connections would hang.
			p.log.Error().Err(err).Msg("epoll wait failed; its connections are no longer read")
			return
		}
		for i := range events[:n] {
			ev := events[i]
			if ev.Fd == stopFd {
				return
			}
			if c := p.lookup(ev.Fd, uint32(ev.Pad)); c != nil {
				c.ready()
			}
		}
		clear(events[:n])
	}
}

// lookup returns the connection registered as fd with generation gen.
func (p *poller) lookup(fd int32, gen uint32) *Conn {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if int(fd) >= len(p.conns) || p.conns[fd].gen != gen {
		return nil
	}
	return p.conns[fd].c
}

// register gives c its generation and table slot; arm adds it to epoll.
// Called once, by c's owner, before c is first armed.
func (p *poller) register(c *Conn) error {
	return c.rc.Control(func(fd uintptr) {
		gen := p.gen.Add(1)
		if gen == 0 {
			gen = p.gen.Add(1)
		}
		c.pgen, c.pfd = gen, int32(fd)
		p.mu.Lock()
		if int(fd) >= len(p.conns) {
			p.conns = append(p.conns, make([]pollSlot, int(fd)+1-len(p.conns)+len(p.conns)/4)...)
		}
		p.conns[fd] = pollSlot{c: c, gen: gen}
		p.mu.Unlock()
	})
}

// arm arms c for one event: EPOLL_CTL_ADD the first time, then MOD. An
// error means the socket is closed (net.ErrClosed) or epoll refused it.
func (p *poller) arm(c *Conn, first bool) error {
	var cerr error
	err := c.rc.Control(func(fd uintptr) {
		op := unix.EPOLL_CTL_MOD
		if first {
			op = unix.EPOLL_CTL_ADD
		}
		ev := unix.EpollEvent{Events: pollEvents, Fd: int32(fd), Pad: int32(c.pgen)}
		cerr = unix.EpollCtl(p.eps[int(fd)%len(p.eps)], op, int(fd), &ev)
	})
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("epoll_ctl: %w", cerr)
	}
	return nil
}

// del deregisters c (if its socket is still open: a closed socket left every
// epoll instance with its last descriptor) and frees its table slot unless a
// new socket with the same fd number took it. Called once, by finishPolled.
func (p *poller) del(c *Conn) {
	if c.pgen == 0 {
		return // never registered
	}
	_ = c.rc.Control(func(fd uintptr) {
		_ = unix.EpollCtl(p.eps[int(fd)%len(p.eps)], unix.EPOLL_CTL_DEL, int(fd), nil)
	})
	p.mu.Lock()
	if int(c.pfd) < len(p.conns) && p.conns[c.pfd].c == c {
		p.conns[c.pfd] = pollSlot{}
	}
	p.mu.Unlock()
}

// close stops the goroutines (if started; every connection finished). The
// descriptors stay open: a worker may still be re-arming a connection that a
// close took meanwhile (Conn.arm after pArmed); Server.close calls closeFds
// once the workers returned.
func (p *poller) close(started bool) {
	if started {
		for _, ev := range p.stop {
			var one = [8]byte{1}
			_, _ = unix.Write(ev, one[:])
		}
		p.wg.Wait()
	}
}

func (p *poller) closeFds() {
	for _, fd := range append(p.eps, p.stop...) {
		_ = unix.Close(fd)
	}
	p.eps, p.stop = nil, nil
}
