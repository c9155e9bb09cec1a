package main

import (
	"runtime"
	"sync"
	"time"

	"github.com/lesismal/nbio"
)

// nbioServer is model (b): an event loop on github.com/lesismal/nbio. Its pollers
// read ready sockets into buffers from our pool (OnReadBufferAlloc / Free, counted
// in bufs_out) and call onData for one connection at a time; no goroutine is
// parked per connection.
//
// Goroutines: nbio's (listener, pollers, timer), all started by Engine.Start and
// stopped by Engine.Stop, which Close calls.
type nbioServer struct {
	st   *stats
	eng  *nbio.Engine
	once sync.Once
}

func startNbio(cfg config, st *stats) (*nbioServer, error) {
	pollers := cfg.Pollers
	if pollers <= 0 {
		pollers = runtime.NumCPU()
	}
	eng := nbio.NewEngine(nbio.Config{
		Name:           "connproto",
		Network:        "tcp",
		Addrs:          []string{cfg.Addr},
		NPoller:        pollers,
		ReadBufferSize: bufSize,
	})
	s := &nbioServer{st: st, eng: eng}
	eng.OnReadBufferAlloc(func(*nbio.Conn) *[]byte { return st.getRead() })
	eng.OnReadBufferFree(func(_ *nbio.Conn, b *[]byte) { st.putRead(b) })
	eng.OnOpen(func(c *nbio.Conn) {
		st.conns.Add(1)
		c.SetSession(&client{})
		_ = c.SetReadDeadline(time.Now().Add(connectTimeout))
	})
	eng.OnClose(func(c *nbio.Conn, _ error) {
		if cl, ok := c.Session().(*client); ok && len(cl.partial) > 0 {
			st.partials.Add(-1)
		}
		st.conns.Add(-1)
	})
	eng.OnData(s.onData)
	if err := eng.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// onData runs on a poller goroutine with bytes valid only during the call.
func (s *nbioServer) onData(c *nbio.Conn, data []byte) {
	cl, ok := c.Session().(*client)
	if !ok {
		_ = c.Close()
		return
	}
	out := s.st.getWrite()
	err := cl.feed(s.st, data, out)
	if out.Len() > 0 {
		_, _ = c.Write(out.Bytes()) // nbio copies what the socket does not take
	}
	s.st.putWrite(out)
	if err != nil {
		_ = c.Close()
		return
	}
	if cl.keepalive > 0 {
		_ = c.SetReadDeadline(time.Unix(0, cl.deadline))
	} else if cl.version != 0 {
		_ = c.SetReadDeadline(time.Time{})
	}
}

func (s *nbioServer) Addr() string { return s.eng.Addrs[0] }

func (s *nbioServer) Stats() Snapshot { return s.st.snapshot("nbio", false) }

func (s *nbioServer) Close() error {
	s.once.Do(s.eng.Stop)
	return nil
}
