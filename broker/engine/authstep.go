package engine

// Authentication runs off the transport's workers (doc.go "Authentication"):
// Authenticate may take tens of milliseconds of CPU (bcrypt) or wait for
// seconds (hooks/auth's login throttle), and a handful of CONNECTs with wrong
// passwords must not stall the few workers that read every connection.
//
// connect pauses the connection (nothing more of it is read, so its CONNECTs
// stay answered in order) and hands an authJob to the pool: at most
// authSlots Authenticate calls run at once, each on its own goroutine
// counted in e.wrun (Close waits for them, after cancelling the ctx they
// get); the CONNECTs beyond wait in FIFO order, holding no goroutine. A call
// that waits without working (ext.AuthIdle: the throttle's delay) gives its
// slot to the next CONNECT meanwhile and queues for one again after, ahead
// of the CONNECTs not yet started; the throttle bounds how many wait
// (auth.throttle.max_waiting). The job then finishes the CONNECT
// (connectAuthed: attach, then admit as before) on the same goroutine, still
// holding its slot, and resumes the connection.
//
// A connection closed meanwhile (the transport's Close, a takeover cannot
// happen: it is not attached) is found by Closed with a client that has no
// session: Closed marks it lost under e.mu, and attach refuses a lost
// client, so it is either attached before Closed looks (and detached there)
// or never.

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
)

// authSlotsPerCPU bounds the Authenticate calls running at once: bcrypt is
// CPU bound, a few calls per CPU keep every CPU busy.
const authSlotsPerCPU = 4

// authPool is the engine's bounded pool of authentications.
type authPool struct {
	mu      sync.Mutex
	free    int        // slots not held; > 0 only when both queues are empty
	queue   []*authJob // CONNECTs waiting for a slot to start
	waiters []*authJob // calls back from an idle wait, waiting for a slot
}

func newAuthPool() *authPool {
	return &authPool{free: authSlotsPerCPU * runtime.GOMAXPROCS(0)}
}

// authJob is one CONNECT between its pause (connect) and its answer.
type authJob struct {
	e        *Engine
	cl       *client
	pk       *packets.Packet // decoded from a copy of the packet: the read buffer is reused
	req      *ext.ConnectRequest
	props    packets.Properties
	assigned bool
	done     chan struct{} // ends the pause; closed by finish or by admit

	held  bool          // the job holds a slot (authPool.mu)
	grant chan struct{} // closed when a slot is handed to the job back from idle
}

// authenticate runs j's Authenticate and the rest of its CONNECT on a slot
// of the pool, now or when one is free.
func (e *Engine) authenticate(j *authJob) {
	p := e.authp
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.free > 0 {
		p.free--
		j.held = true
		e.startAuth(j)
		return
	}
	p.queue = append(p.queue, j)
}

// startAuth starts j's goroutine, counted for Close (p.mu held; e.wmu is a
// leaf).
func (e *Engine) startAuth(j *authJob) {
	e.wmu.Lock()
	e.startLocked()
	e.wmu.Unlock()
	go e.runAuth(j)
}

// releaseLocked hands a slot on: to a call back from idle first (its
// throttle attempt is in flight), then to the oldest queued CONNECT.
func (p *authPool) releaseLocked(e *Engine) {
	switch {
	case len(p.waiters) > 0:
		w := p.waiters[0]
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		w.held = true
		close(w.grant)
	case len(p.queue) > 0:
		j := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		j.held = true
		e.startAuth(j)
	default:
		p.free++
	}
}

func (e *Engine) runAuth(j *authJob) {
	defer e.stopped()
	if !e.finishAuth(j) {
		close(j.done)
	}
	p := e.authp
	p.mu.Lock()
	if j.held {
		j.held = false
		p.releaseLocked(e)
	}
	p.mu.Unlock()
}

// finishAuth runs Authenticate and the rest of j's CONNECT; it reports
// whether admit took j.done over. A panic (of an Authenticator, as the
// transport does on its workers) closes only this connection.
func (e *Engine) finishAuth(j *authJob) (handed bool) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error().Str(logfield.ClientID, j.cl.info.ID).Str(logfield.Remote, j.cl.info.Remote.String()).
				Str(logfield.Panic, fmt.Sprint(r)).Str(logfield.Stack, string(debug.Stack())).Msg("connect panicked")
			j.cl.conn.Close(fmt.Errorf("%w: connect panicked: %v", ErrConnectRefused, r))
			handed = false
		}
	}()
	res := e.auth.Authenticate(ext.WithAuthWaiter(e.ctx, j), j.req)
	j.req.Password = nil
	return e.connectAuthed(j, res)
}

// Idle implements ext.AuthWaiter: j gives its slot up while it waits.
func (j *authJob) Idle() (resume func()) {
	p := j.e.authp
	p.mu.Lock()
	if j.held {
		j.held = false
		p.releaseLocked(j.e)
	}
	p.mu.Unlock()
	return j.busy
}

// busy takes a slot back after an idle wait; after Close began it goes on
// without one rather than wait.
func (j *authJob) busy() {
	p := j.e.authp
	p.mu.Lock()
	if j.held {
		p.mu.Unlock()
		return
	}
	if p.free > 0 {
		p.free--
		j.held = true
		p.mu.Unlock()
		return
	}
	j.grant = make(chan struct{})
	p.waiters = append(p.waiters, j)
	p.mu.Unlock()
	select {
	case <-j.grant:
	case <-j.e.ctx.Done():
		p.mu.Lock()
		if !j.held {
			if i := slices.Index(p.waiters, j); i >= 0 {
				p.waiters = slices.Delete(p.waiters, i, i+1)
			}
		}
		p.mu.Unlock()
	}
}

// markLost records that cl's connection closed (Closed); it reports whether
// cl was attached before. A lost client is never attached (attach).
func (e *Engine) markLost(cl *client) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cl.lost = true
	return cl.s != nil
}

var _ ext.AuthWaiter = (*authJob)(nil)
