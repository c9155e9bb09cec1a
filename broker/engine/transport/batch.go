package transport

// Batch is one worker's read batch: the connections that got output during it.
// Conn.Queue with a Batch appends the connection (once) instead of writing; when
// the batch ends the worker flushes each touched connection once (one writev).
// A Batch belongs to its worker goroutine: pass it only to Queue and Pause calls
// made during the Handler call that received it.
type Batch struct {
	conns []*Conn
	s     *Server
	c     *Conn // the connection being read (the framer's sink target)
}

// touch adds c (the caller set c's touched flag under c.wmu).
func (b *Batch) touch(c *Conn) { b.conns = append(b.conns, c) }

// end flushes every touched connection and forgets them.
func (b *Batch) end() {
	for i, c := range b.conns {
		c.endBatch()
		b.conns[i] = nil
	}
	b.conns = b.conns[:0]
}
