package route

import (
	"bufio"
	"net"

	"github.com/imqtt/imqtt/internal/logfield"
)

// serveLink serves one inbound link (a goroutine of the node's cluster port):
// hello, then route changes, publishes and takeovers from that peer. When the
// link ends the peer's routes are forgotten (it resends them on reconnect).
func (r *Router) serveLink(c net.Conn) {
	br := bufio.NewReaderSize(c, 64<<10)
	typ, body, err := readFrame(br)
	if err != nil || typ != frameHello {
		return
	}
	rd := &reader{b: body}
	id := rd.str()
	if rd.done() != nil || id == "" || id == r.opts.Node.ID() || !r.isMember(id) {
		r.log.Warn().Str(logfield.PeerID, id).Str(logfield.Remote, c.RemoteAddr().String()).Msg("route link refused: not a member")
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	if old := r.inbound[id]; old != nil {
		_ = old.Close()
	}
	r.inbound[id] = c
	r.dropRoutesLocked(id)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.inbound[id] == c {
			delete(r.inbound, id)
			r.dropRoutesLocked(id)
		}
		r.mu.Unlock()
	}()
	for {
		typ, body, err := readFrame(br)
		if err != nil {
			return
		}
		if err := r.handleFrame(id, typ, body); err != nil {
			r.log.Warn().Err(err).Str(logfield.PeerID, id).Msg("route link frame refused, closing the link")
			return
		}
	}
}

// handleFrame applies one frame from peer id.
func (r *Router) handleFrame(id string, typ byte, body []byte) error {
	switch typ {
	case frameFull:
		fs, err := decodeFilters(body)
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.dropRoutesLocked(id)
		for _, f := range fs {
			r.addRouteLocked(id, f)
		}
		r.mu.Unlock()
	case frameAdd, frameRemove:
		rd := &reader{b: body}
		f := rd.str()
		if err := rd.done(); err != nil {
			return err
		}
		r.mu.Lock()
		if typ == frameAdd {
			r.addRouteLocked(id, f)
		} else if _, ok := r.peerRoutes[id][f]; ok {
			delete(r.peerRoutes[id], f)
			r.remote.remove(id, f)
		}
		r.mu.Unlock()
	case framePublish:
		pk, err := decodePublish(body)
		if err != nil {
			return err
		}
		r.stats.Received.Add(1)
		r.be.deliver(&pk)
	case frameTakeover:
		cid, at, err := decodeTakeover(body)
		if err != nil {
			return err
		}
		r.be.takeover(cid, at)
	default:
		return ErrBadFrame
	}
	return nil
}

func (r *Router) addRouteLocked(id, f string) {
	m := r.peerRoutes[id]
	if m == nil {
		m = map[string]struct{}{}
		r.peerRoutes[id] = m
	}
	m[f] = struct{}{}
	r.remote.add(id, f)
}
