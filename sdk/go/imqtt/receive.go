package imqtt

// receiver puts messages in order: it delivers each envelope once and in
// seq order per conversation, buffers what comes after a gap and asks for
// a sync to fill it. Only the loop goroutine uses it (no locks).
type receiver struct {
	c       *Client
	cursors map[string]int64          // highest seq delivered per conv (mirrors the Store)
	buffer  map[string]map[int64]held // conv -> seq -> held until the gap fills
}

// held is a buffered seq: an envelope, or an own send known only by its ack.
type held struct {
	msg  Message
	have bool // msg is set
	own  bool // this device sent it: count it, do not emit it
}

func newReceiver(c *Client) receiver {
	r := receiver{c: c, cursors: map[string]int64{}, buffer: map[string]map[int64]held{}}
	if cur, err := c.store.Cursors(); err == nil {
		r.cursors = cur
	}
	return r
}

// deliver takes an envelope received live (synced false) or from a sync
// page. seq ≤ cursor: a duplicate, dropped. seq = cursor+1: delivered, then
// the buffered seqs that follow. A live seq beyond: buffered, and a sync
// asked. A synced seq beyond is delivered: a sync returns every seq after
// the cursor the user may see, so a gap in it is a seq they cannot (before
// they joined a group).
func (r *receiver) deliver(m Message, synced bool) {
	cur := r.cursors[m.Conv]
	if m.Seq <= cur {
		return
	}
	h := r.buffer[m.Conv][m.Seq]
	h.own = h.own || (m.From == r.c.user && r.c.isOwnSend(m.CID))
	h.msg, h.have = m, true
	if m.Seq == cur+1 || synced {
		r.advance(m.Conv, m.Seq, h)
		return
	}
	r.hold(m.Conv, m.Seq, h)
}

// own counts the seq of this device's acked send as delivered, so that it
// makes no false gap; its envelope, if it comes, is not emitted.
func (r *receiver) own(conv string, seq int64) {
	cur := r.cursors[conv]
	if seq <= cur {
		return
	}
	h := r.buffer[conv][seq]
	h.own = true
	if seq == cur+1 {
		r.advance(conv, seq, h)
		return
	}
	r.hold(conv, seq, h)
}

// hold buffers h at conv/seq and asks for a sync.
func (r *receiver) hold(conv string, seq int64, h held) {
	if r.buffer[conv] == nil {
		r.buffer[conv] = map[int64]held{}
	}
	r.buffer[conv][seq] = h
	signal(r.c.syncCh)
}

// advance delivers h at conv/seq, moves the cursor, then delivers the
// buffered seqs that now follow.
func (r *receiver) advance(conv string, seq int64, h held) {
	for {
		r.cursors[conv] = seq
		if err := r.c.store.SetCursor(conv, seq); err != nil {
			r.c.fail(err)
		}
		if h.have && !h.own {
			m := h.msg
			r.c.emit(func() { call(r.c.cfg.OnMessage, m) })
		}
		buf := r.buffer[conv]
		for s := range buf {
			if s <= seq {
				delete(buf, s)
			}
		}
		next, ok := buf[seq+1]
		if !ok || (!next.have && !next.own) {
			if len(buf) == 0 {
				delete(r.buffer, conv)
			}
			return
		}
		seq, h = seq+1, next
	}
}
