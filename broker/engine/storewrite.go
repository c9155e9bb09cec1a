package engine

// Store writes run off the transport's workers and off every engine lock
// (doc.go "Durable sessions"): a write that a connection waits for pauses
// the connection (transport.Conn.Pause) and the write's completion queues
// the answer with a nil Batch. Two kinds of goroutine carry them, both
// counted in e.wrun so Close can wait for them:
//
//   - one writer per client id with writes queued (write): the writes of one
//     session's records (PutSession, DeleteSession, subscriptions, Dequeue,
//     Release, Complete, CompleteInbound) apply in the order they were
//     queued, never two at once; the writer exits when its queue is empty.
//     A CONNECT's admit (connect.go: Lifecycle.Connected, then the record)
//     runs there too, so it is ordered with the id's writes.
//   - one goroutine per durable publish (spawn): Store.Publish spans several
//     sessions and is not ordered with their record writes, except that a
//     DeleteSession waits for the publishes already routed to that client
//     id (copyBegin/copyEnd), so none of their copies is enqueued after the
//     session's deletion for a later session of the same id to read. A
//     retained publish runs on the writer of its topic instead, so the
//     retained index changes in the store's order.

import "context"

// writer is one client id's queue of store writes.
type writer struct {
	ops []func(ctx context.Context)
}

// write queues op for client id: it runs after every op queued before it for
// that id, on the id's writer goroutine, with the store context (alive until
// Close's wait ends). op must not be called with a session lock held by its
// caller's goroutine in mind: it runs elsewhere and may take s.mu.
func (e *Engine) write(id string, op func(ctx context.Context)) {
	e.wmu.Lock()
	if w := e.writers[id]; w != nil {
		w.ops = append(w.ops, op)
		e.wmu.Unlock()
		return
	}
	w := &writer{ops: []func(context.Context){op}}
	e.writers[id] = w
	e.startLocked()
	e.wmu.Unlock()
	go e.runWriter(id, w)
}

func (e *Engine) runWriter(id string, w *writer) {
	defer e.stopped()
	for {
		e.wmu.Lock()
		if len(w.ops) == 0 {
			delete(e.writers, id)
			e.wmu.Unlock()
			return
		}
		op := w.ops[0]
		w.ops[0] = nil
		w.ops = w.ops[1:]
		e.wmu.Unlock()
		op(e.sctx)
	}
}

// spawn runs fn on a new goroutine counted for Close.
func (e *Engine) spawn(fn func(ctx context.Context)) {
	e.wmu.Lock()
	e.startLocked()
	e.wmu.Unlock()
	go func() {
		defer e.stopped()
		fn(e.sctx)
	}()
}

// startLocked counts a store goroutine (e.wmu held).
func (e *Engine) startLocked() {
	if e.wrun == 0 {
		e.widle = make(chan struct{})
	}
	e.wrun++
}

func (e *Engine) stopped() {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.wrun--
	if e.wrun == 0 {
		close(e.widle)
	}
}

// waitWrites waits until no store goroutine runs or ctx ends.
func (e *Engine) waitWrites(ctx context.Context) error {
	for {
		e.wmu.Lock()
		if e.wrun == 0 {
			e.wmu.Unlock()
			return nil
		}
		ch := e.widle
		e.wmu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// copies counts the durable publishes in flight with a copy for one client
// id; done is closed when the count drops to 0 and a DeleteSession waits.
type copies struct {
	n    int
	done chan struct{}
}

// copyBegin counts a publish routed to id (with e.mu or s.mu held: wmu is a
// leaf).
func (e *Engine) copyBegin(id string) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	c := e.copies[id]
	if c == nil {
		c = &copies{}
		e.copies[id] = c
	}
	c.n++
}

// copyEnd ends what copyBegin counted.
func (e *Engine) copyEnd(id string) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	c := e.copies[id]
	c.n--
	if c.n == 0 {
		delete(e.copies, id)
		if c.done != nil {
			close(c.done)
		}
	}
}

// copiesDone waits until no publish routed to id is in flight, or ctx ends.
func (e *Engine) copiesDone(ctx context.Context, id string) error {
	e.wmu.Lock()
	c := e.copies[id]
	if c == nil {
		e.wmu.Unlock()
		return nil
	}
	if c.done == nil {
		c.done = make(chan struct{})
	}
	ch := c.done
	e.wmu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retainKey is the writer key of topic's retained publishes: no client id
// holds a NUL [MQTT-1.5.4-2].
func retainKey(topic string) string { return "\x00retain\x00" + topic }
