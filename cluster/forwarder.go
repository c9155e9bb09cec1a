package cluster

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// errNotSent marks a forward that never reached the peer (dial failed, link
// down before the write): safe to retry.
var errNotSent = errors.New("cluster: forward not sent")

// dialTimeout bounds dialling a peer's cluster port.
const dialTimeout = 2 * time.Second

// forwarder keeps one multiplexed RPC connection per peer address.
type forwarder struct {
	n      *Node
	mu     sync.Mutex
	conns  map[string]*rpcConn
	closed bool
}

// rpcConn is one outbound RPC connection: many calls in flight, answered by id.
type rpcConn struct {
	c       net.Conn
	out     chan []byte
	mu      sync.Mutex
	pending map[uint64]chan rpcResp
	nextID  uint64
	dead    chan struct{}
	once    sync.Once
}

type rpcResp struct {
	payload []byte
	err     error
}

// call sends one request to addr and waits for its answer.
func (f *forwarder) call(ctx context.Context, addr string, op byte, payload []byte) ([]byte, error) {
	rc, err := f.conn(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errNotSent, addr, err)
	}
	ch := make(chan rpcResp, 1)
	rc.mu.Lock()
	select {
	case <-rc.dead:
		rc.mu.Unlock()
		return nil, fmt.Errorf("%w: %s: link closed", errNotSent, addr)
	default:
	}
	rc.nextID++
	id := rc.nextID
	rc.pending[id] = ch
	rc.mu.Unlock()
	body := append(binary.AppendUvarint([]byte{op}, id), payload...)
	select {
	case rc.out <- appendFrame(nil, body):
	case <-rc.dead:
	case <-ctx.Done():
		rc.forget(id)
		return nil, fmt.Errorf("%w: %s: %v", errNotSent, addr, ctx.Err())
	}
	select {
	case r := <-ch:
		return r.payload, r.err
	case <-ctx.Done():
		rc.forget(id)
		return nil, fmt.Errorf("%w: waiting for %s: %w", ErrTimeout, addr, ctx.Err())
	case <-f.n.done:
		return nil, ErrClosed
	}
}

// conn returns the live connection to addr, dialling one if needed.
func (f *forwarder) conn(addr string) (*rpcConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if rc := f.conns[addr]; rc != nil {
		select {
		case <-rc.dead:
		default:
			return rc, nil
		}
	}
	c, err := f.n.stream.DialKind(addr, connRPC, dialTimeout)
	if err != nil {
		return nil, err
	}
	rc := &rpcConn{c: c, out: make(chan []byte, 256), pending: map[uint64]chan rpcResp{}, dead: make(chan struct{})}
	if !f.n.goTracked(rc.readLoop) {
		_ = c.Close()
		return nil, ErrClosed
	}
	f.n.goTracked(rc.writeLoop)
	f.conns[addr] = rc
	return rc, nil
}

// close closes every connection (their goroutines then end).
func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, rc := range conns {
		rc.kill()
	}
}

func (rc *rpcConn) forget(id uint64) {
	rc.mu.Lock()
	delete(rc.pending, id)
	rc.mu.Unlock()
}

// kill closes the connection and fails every pending call: they were sent (or
// may have been), so the outcome is unknown.
func (rc *rpcConn) kill() {
	rc.once.Do(func() {
		close(rc.dead)
		_ = rc.c.Close()
		rc.mu.Lock()
		for id, ch := range rc.pending {
			ch <- rpcResp{err: fmt.Errorf("%w: link to the leader lost", ErrForward)}
			delete(rc.pending, id)
		}
		rc.mu.Unlock()
	})
}

func (rc *rpcConn) writeLoop() {
	w := bufio.NewWriterSize(rc.c, 64<<10)
	for {
		select {
		case b := <-rc.out:
			if _, err := w.Write(b); err != nil {
				rc.kill()
				return
			}
			if len(rc.out) == 0 {
				if err := w.Flush(); err != nil {
					rc.kill()
					return
				}
			}
		case <-rc.dead:
			return
		}
	}
}

func (rc *rpcConn) readLoop() {
	defer rc.kill()
	r := bufio.NewReaderSize(rc.c, 64<<10)
	for {
		body, err := readFrame(r)
		if err != nil {
			return
		}
		id, k := binary.Uvarint(body)
		if k <= 0 || len(body) < k+1 {
			return
		}
		var resp rpcResp
		if body[k] == rpcOK {
			resp.payload = body[k+1:]
		} else {
			resp.err = decodeRPCError(body[k+1:])
		}
		rc.mu.Lock()
		ch := rc.pending[id]
		delete(rc.pending, id)
		rc.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
}
