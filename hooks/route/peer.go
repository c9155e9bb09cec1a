package route

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/internal/logfield"
)

// peer is the outbound link to one other node: a bounded frame queue drained
// by one goroutine that (re)connects, says hello, sends the full route set and
// then every queued frame, flushing when the queue runs dry (batched writes).
type peer struct {
	r         *Router
	id, addr  string
	q         chan []byte
	connected atomic.Bool
	quit      chan struct{}
	once      sync.Once

	mu   sync.Mutex
	conn net.Conn
}

func newPeer(r *Router, id, addr string) *peer {
	return &peer{r: r, id: id, addr: addr, q: make(chan []byte, r.opts.QueueLen), quit: make(chan struct{})}
}

// close stops the link (run returns).
func (p *peer) close() {
	p.once.Do(func() {
		close(p.quit)
		p.mu.Lock()
		if p.conn != nil {
			_ = p.conn.Close()
		}
		p.mu.Unlock()
	})
}

// run owns the connection: dial with backoff, serve, repeat until close.
func (p *peer) run() {
	defer p.r.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		select {
		case <-p.quit:
			return
		default:
		}
		c, err := p.r.opts.Node.DialPeer(p.addr, cluster.ConnLink)
		if err != nil {
			p.r.log.Debug().Err(err).Str(logfield.PeerID, p.id).Msg("route link dial failed")
			select {
			case <-time.After(backoff):
			case <-p.quit:
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		p.mu.Lock()
		p.conn = c
		p.mu.Unlock()
		select {
		case <-p.quit:
			_ = c.Close()
			return
		default:
		}
		p.r.log.Info().Str(logfield.PeerID, p.id).Str(logfield.Addr, p.addr).Msg("route link up")
		p.serve(c)
		p.connected.Store(false)
		_ = c.Close()
		p.r.log.Info().Str(logfield.PeerID, p.id).Msg("route link down")
	}
}

// serve writes hello, the full set and then the queue until a write fails or
// the link is closed.
func (p *peer) serve(c net.Conn) {
	w := bufio.NewWriterSize(c, 64<<10)
	if _, err := w.Write(appendFrame(nil, frameHello, appendStr(nil, p.r.opts.Node.ID()))); err != nil {
		return
	}
	// The full set is queued under the router's lock with connected set, so
	// every later route change is queued after it.
	p.r.mu.Lock()
	full := appendFrame(nil, frameFull, encodeFilters(p.r.localFiltersLocked()))
	p.connected.Store(true)
	p.r.mu.Unlock()
	if _, err := w.Write(full); err != nil {
		return
	}
	if err := w.Flush(); err != nil {
		return
	}
	for {
		select {
		case b := <-p.q:
			if _, err := w.Write(b); err != nil {
				return
			}
			if len(p.q) == 0 {
				if err := w.Flush(); err != nil {
					return
				}
			}
		case <-p.quit:
			return
		}
	}
}

// sendControl queues a route change or takeover frame; it waits for room
// (these are rare and must not be lost while the link is up). Called with the
// router's lock held: the wait is bounded by BlockTimeout, after which the
// link is reset (it resends the full set on reconnect).
func (p *peer) sendControl(b []byte) {
	if !p.connected.Load() {
		return
	}
	select {
	case p.q <- b:
		return
	default:
	}
	t := time.NewTimer(p.r.opts.BlockTimeout)
	defer t.Stop()
	select {
	case p.q <- b:
	case <-t.C:
		p.reset()
	case <-p.quit:
	}
}

// sendPublish queues a publish frame: QoS 0 is dropped when the queue is full,
// QoS 1/2 waits up to BlockTimeout (back-pressure on the publisher).
func (p *peer) sendPublish(b []byte, qos byte) bool {
	if !p.connected.Load() {
		return false
	}
	select {
	case p.q <- b:
		return true
	default:
	}
	if qos == 0 {
		return false
	}
	t := time.NewTimer(p.r.opts.BlockTimeout)
	defer t.Stop()
	select {
	case p.q <- b:
		return true
	case <-t.C:
		return false
	case <-p.quit:
		return false
	}
}

// reset drops the current connection (run reconnects and resends the full
// route set).
func (p *peer) reset() {
	p.mu.Lock()
	if p.conn != nil {
		_ = p.conn.Close()
	}
	p.mu.Unlock()
}
