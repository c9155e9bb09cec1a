package transport

import "sync"

// chunkSize is the size of the pooled output chunks; larger packets get one
// exact-size chunk of their own.
const chunkSize = 4096

// chunkPool holds *[]byte of cap chunkSize. One per Server (no globals).
type chunkPool struct{ p sync.Pool }

func (cp *chunkPool) get() []byte {
	if v, ok := cp.p.Get().(*[]byte); ok {
		return (*v)[:0]
	}
	return make([]byte, 0, chunkSize)
}

func (cp *chunkPool) put(b []byte) {
	if cap(b) != chunkSize {
		return
	}
	b = b[:0]
	cp.p.Put(&b)
}

// pending is a connection's unwritten output: a list of chunks, bufs[0][off:]
// first. An idle connection holds no chunk. Guarded by Conn.wmu.
//
// A writer goroutine writes a snapshot of the chunks' current contents without the
// lock; add only ever appends beyond a chunk's length (never rewrites what a
// snapshot covers), and consume frees a chunk only once every byte of it was
// written, so the snapshot stays valid.
type pending struct {
	bufs [][]byte
	off  int // bytes of bufs[0] already written
	n    int // bytes not yet written
}

// add appends a copy of p.
func (q *pending) add(p []byte, cp *chunkPool) {
	q.n += len(p)
	if k := len(q.bufs); k > 0 {
		last := q.bufs[k-1]
		if cap(last) == chunkSize {
			m := copy(last[len(last):cap(last)], p)
			q.bufs[k-1] = last[:len(last)+m]
			p = p[m:]
		}
	}
	for len(p) > 0 {
		var c []byte
		if len(p) > chunkSize {
			c = make([]byte, len(p))
		} else {
			c = cp.get()[:len(p)]
		}
		m := copy(c, p)
		q.bufs = append(q.bufs, c)
		p = p[m:]
	}
}

// views returns the unwritten bytes as slices, at most maxIov of them, appended
// to dst.
func (q *pending) views(dst [][]byte) [][]byte {
	for i, b := range q.bufs {
		if len(dst) == maxIov {
			break
		}
		if i == 0 {
			b = b[q.off:]
		}
		dst = append(dst, b)
	}
	return dst
}

// consume drops the first n written bytes, freeing the chunks fully written.
func (q *pending) consume(n int, cp *chunkPool) {
	q.n -= n
	for n > 0 && len(q.bufs) > 0 {
		rest := len(q.bufs[0]) - q.off
		if n < rest {
			q.off += n
			return
		}
		n -= rest
		cp.put(q.bufs[0])
		q.bufs[0] = nil
		q.bufs = q.bufs[1:]
		q.off = 0
	}
	if len(q.bufs) == 0 {
		q.bufs = nil // an idle connection holds no slice either
	}
}

// reset frees every chunk (the connection closed).
func (q *pending) reset(cp *chunkPool) {
	for _, b := range q.bufs {
		cp.put(b)
	}
	*q = pending{}
}
