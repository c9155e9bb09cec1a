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
// then every queued frame, writing what it finds queued and flushing when the
// queue runs dry (batched writes).
//
// The queue holds up to QueueLen frames for QoS 0 publishes; QoS 1/2
// publishes and control frames may take it to twice that (hard), so that a
// publisher that must not lose its message is held back (room) instead.
type peer struct {
	r         *Router
	id, addr  string
	connected atomic.Bool
	quit      chan struct{}
	once      sync.Once

	qmu  sync.Mutex
	q    [][]byte
	wake chan struct{} // one token: the queue is not empty
	room chan struct{} // closed when the writer takes the queue; nil when nobody waits

	mu   sync.Mutex
	conn net.Conn
}

func newPeer(r *Router, id, addr string) *peer {
	return &peer{r: r, id: id, addr: addr, quit: make(chan struct{}), wake: make(chan struct{}, 1)}
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
		p.qmu.Lock()
		if p.room != nil {
			close(p.room)
			p.room = nil
		}
		p.qmu.Unlock()
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
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-p.quit:
				t.Stop()
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
		batch := p.take()
		if len(batch) == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.quit:
				return
			}
		}
		for _, b := range batch {
			if _, err := w.Write(b); err != nil {
				return
			}
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// take empties the queue and wakes the publishers waiting for room.
func (p *peer) take() [][]byte {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	batch := p.q
	p.q = nil
	if p.room != nil {
		close(p.room)
		p.room = nil
	}
	return batch
}

// push queues b if the queue holds fewer than limit frames. full reports
// whether it holds QueueLen frames or more afterwards.
func (p *peer) push(b []byte, limit int) (ok, full bool) {
	p.qmu.Lock()
	if len(p.q) >= limit {
		p.qmu.Unlock()
		return false, true
	}
	p.q = append(p.q, b)
	full = len(p.q) >= p.r.opts.QueueLen
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true, full
}

// roomCh returns a channel that closes when the writer next takes the queue
// (or the link closes).
func (p *peer) roomCh() <-chan struct{} {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	select {
	case <-p.quit:
		return p.quit
	default:
	}
	if p.room == nil {
		p.room = make(chan struct{})
	}
	return p.room
}

// sendControl queues a route change or takeover frame without blocking
// (it may be called under the engine's locks). A link whose queue is at the
// hard bound is reset instead: it reconnects and resends the full set.
func (p *peer) sendControl(b []byte) {
	if !p.connected.Load() {
		return
	}
	if ok, _ := p.push(b, 2*p.r.opts.QueueLen); !ok {
		p.reset()
	}
}

// sendPublish queues a publish frame. QoS 0 is dropped when the queue holds
// QueueLen frames. QoS 1/2 is queued up to the hard bound; past QueueLen,
// wait is the channel the engine pauses the publisher on.
func (p *peer) sendPublish(b []byte, qos byte) (ok bool, wait <-chan struct{}) {
	if !p.connected.Load() {
		return false, nil
	}
	if qos == 0 {
		ok, _ = p.push(b, p.r.opts.QueueLen)
		return ok, nil
	}
	ok, full := p.push(b, 2*p.r.opts.QueueLen)
	if full {
		wait = p.roomCh()
	}
	return ok, wait
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
