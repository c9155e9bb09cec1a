package imqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// metaClientID is the Store meta key of the device's client id.
const metaClientID = "client_id"

// Client is one device of a user connected to imqtt. Create it with
// Connect; its methods are safe for concurrent use; Close it once done.
type Client struct {
	cfg        Config
	store      Store
	tr         transport
	user       string
	replyTopic string // im/u/{user}/r/{tag}: this Client's rpc replies
	ridPrefix  string
	ridSeq     atomic.Uint64

	in     *queue[loopItem] // processed by loop, in order
	events *queue[func()]   // handler calls, run by dispatch, in order

	upCh    chan struct{} // a connection came up (session goroutine)
	syncCh  chan struct{} // a gap wants a sync (session goroutine)
	retryCh chan struct{} // a 0x80 ack wants the outbox re-sent
	ready   chan error    // the first session set-up finished (capacity 1)

	mu       sync.Mutex
	rpcs     map[string]chan reply // rid -> waiting RPC
	sends    map[string]chan Ack   // cid -> waiting Send
	mine     map[string]bool       // cids of this device's outbox
	ownSent  map[string]bool       // cids this device sent and had acked (recent)
	ownOrder []string              // ownSent in insertion order, to bound it
	watched  []string              // users whose presence is watched
	closed   bool
	failErr  *Error        // the permanent refusal that ended the Client (giveUp)
	failed   chan struct{} // closed by giveUp: waiting calls return failErr

	rec receiver // owned by the loop goroutine

	life      context.Context // cancelled by Close
	cancel    context.CancelFunc
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Lifecycle: Connect starts loop, dispatch and session; Close (or giveUp,
// then shutdown on the dispatch goroutine) closes done, which stops them;
// Close waits for them. giveUp closes failed first, so calls waiting then
// return the refusal rather than ErrClosed.

// loopItem is one unit of work of the loop goroutine: a received publish or
// a page of synced messages.
type loopItem struct {
	in     *inbound
	synced []Message
}

// Connect connects a device of cfg.User and returns once the connection is
// up, im/u/{user}/# is subscribed, the outbox has been re-sent and (unless
// NoAutoSync) the first sync has run; or with an *Error for a refused
// CONNACK (0x86 bad credentials, 0x8A banned...), ErrTimeout after
// cfg.Timeout, or ctx's error. The Client then reconnects by itself until
// Close.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id, err := clientID(cfg)
	if err != nil {
		return nil, err
	}
	tag := newTag(6)
	c := &Client{
		cfg: cfg, store: cfg.Store, user: cfg.User,
		replyTopic: "im/u/" + cfg.User + "/r/" + tag, ridPrefix: tag + "-",
		in: newQueue[loopItem](), events: newQueue[func()](),
		upCh: make(chan struct{}, 1), syncCh: make(chan struct{}, 1), retryCh: make(chan struct{}, 1),
		ready: make(chan error, 1), failed: make(chan struct{}),
		rpcs: map[string]chan reply{}, sends: map[string]chan Ack{}, mine: map[string]bool{}, ownSent: map[string]bool{},
		done: make(chan struct{}),
	}
	c.life, c.cancel = context.WithCancel(context.Background())
	c.rec = newReceiver(c)
	entries, err := c.store.ListOutbox()
	if err != nil {
		return nil, fmt.Errorf("imqtt: read outbox: %w", err)
	}
	for _, e := range entries {
		c.mine[e.CID] = true
	}
	tc := transportConfig{
		url: cfg.URL, clientID: id, user: cfg.User, password: cfg.password(),
		keepAlive: uint16(cfg.KeepAlive), sessionExpiry: cfg.SessionExpiry,
		backoff: func(n int) time.Duration { return backoff(n, cfg.ReconnectMin, cfg.ReconnectMax) },
		events: transportEvents{
			message: func(in inbound) { c.in.push(loopItem{in: &in}) },
			up:      func() { signal(c.upCh) },
			down: func(err error) {
				c.emit(func() { c.onConnection(Connection{State: StateDisconnected, Err: err}) })
				c.emit(func() { c.onConnection(Connection{State: StateReconnecting, Err: err}) })
			},
			failed: c.giveUp,
		},
	}
	if cfg.Protocol == 4 {
		c.tr = newV311(tc)
	} else {
		c.tr = newV5(tc)
	}
	c.wg.Add(3)
	go c.loop()
	go c.dispatch()
	go c.session()

	sctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	err = c.tr.start(sctx)
	if err == nil {
		select {
		case err = <-c.ready:
		case <-c.failed:
			err = c.stopErr()
		case <-sctx.Done():
			err = sctx.Err()
		}
	}
	if err != nil {
		_ = c.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: connect %s: no session within %s: %w", ErrTimeout, cfg.URL, cfg.Timeout, err)
		}
		return nil, err
	}
	return c, nil
}

// clientID returns cfg.ClientID, else the id kept in the store, else a new
// one, stored.
func clientID(cfg Config) (string, error) {
	if cfg.ClientID != "" {
		return cfg.ClientID, nil
	}
	id, err := cfg.Store.Get(metaClientID)
	if err != nil {
		return "", fmt.Errorf("imqtt: read client id: %w", err)
	}
	if id != "" {
		return id, nil
	}
	id = "imqtt-" + newTag(8)
	if err := cfg.Store.Set(metaClientID, id); err != nil {
		return "", fmt.Errorf("imqtt: store client id: %w", err)
	}
	return id, nil
}

// signal wakes the reader of a capacity-1 channel without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// User returns the user the Client is connected as.
func (c *Client) User() string { return c.user }

// Close disconnects and stops the Client's goroutines and waits for them;
// calls waiting return ErrClosed. Outbox entries stay in the Store.
// Idempotent, and fine after the Client failed (StateFailed). Do not call
// it from a handler: it waits for the goroutine that runs the handlers.
func (c *Client) Close() error {
	c.shutdown()
	c.wg.Wait()
	return nil
}

// shutdown is Close without the wait: it marks the Client closed, stops
// its goroutines and the transport. Idempotent.
func (c *Client) shutdown() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.done)
		c.cancel()
		if c.tr != nil {
			c.tr.close()
		}
	})
}

// giveUp ends the Client after a permanent refusal of a reconnect (a
// transport callback; it must not block): calls waiting and later calls
// return err, OnConnection gets StateFailed, then the Client shuts down
// (on the dispatch goroutine, after that handler). The outbox stays in the
// Store: a later Connect re-sends it.
func (c *Client) giveUp(err *Error) {
	c.mu.Lock()
	if c.closed || c.failErr != nil {
		c.mu.Unlock()
		return
	}
	c.failErr = err
	c.mu.Unlock()
	close(c.failed)
	c.emit(func() {
		c.onConnection(Connection{State: StateFailed, Err: err})
		c.shutdown()
	})
}

// stopErr is the error of calls on a stopped Client: the refusal that
// failed it, else ErrClosed once closed, else nil.
func (c *Client) stopErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.failErr != nil:
		return c.failErr
	case c.closed:
		return ErrClosed
	}
	return nil
}

// stoppedErr is stopErr for a Client known to be stopping (done or failed
// fired): never nil.
func (c *Client) stoppedErr() error {
	if err := c.stopErr(); err != nil {
		return err
	}
	return ErrClosed
}

// emit queues a handler call for the dispatch goroutine.
func (c *Client) emit(f func()) { c.events.push(f) }

// dispatch runs the handler calls in order until Close.
func (c *Client) dispatch() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.events.signal:
			for _, f := range c.events.take() {
				select {
				case <-c.done:
					return
				default:
				}
				f()
			}
		}
	}
}

// loop processes received publishes and synced pages in order until Close.
func (c *Client) loop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case <-c.in.signal:
			for _, it := range c.in.take() {
				if it.in != nil {
					c.route(*it.in)
				} else {
					for _, m := range it.synced {
						c.rec.deliver(m, true)
					}
				}
			}
		}
	}
}

// route handles one received publish by its topic.
func (c *Client) route(in inbound) {
	own := "im/u/" + c.user + "/"
	switch {
	case strings.HasPrefix(in.topic, own):
		leaf := in.topic[len(own):]
		switch {
		case leaf == "msg":
			m, err := decodeEnvelope(in.payload)
			if err != nil {
				c.fail(err)
				return
			}
			c.rec.deliver(m, false)
		case leaf == "ack":
			c.handleAck(in.payload)
		case leaf == "rpc" || in.topic == c.replyTopic:
			c.handleReply(in)
		case leaf == "receipt":
			var v Receipt
			c.event("receipt", in.payload, &v, func() { call(c.cfg.OnReceipt, v) })
		case leaf == "typing":
			var v Typing
			c.event("typing", in.payload, &v, func() { call(c.cfg.OnTyping, v) })
		case leaf == "notify":
			var v Notification
			c.event("notify", in.payload, &v, func() { call(c.cfg.OnNotify, v) })
		case leaf == "prefs":
			var v Prefs
			c.event("prefs", in.payload, &v, func() { call(c.cfg.OnPrefs, v) })
		case leaf == "profile":
			var v Profile
			c.event("profile", in.payload, &v, func() { call(c.cfg.OnProfile, v) })
		}
	case in.topic == "im/notify/all":
		var v Notification
		c.event("notify", in.payload, &v, func() { call(c.cfg.OnNotify, v) })
	case strings.HasPrefix(in.topic, "im/presence/"):
		var v Presence
		c.event("presence", in.payload, &v, func() { call(c.cfg.OnPresence, v) })
	}
}

// event decodes payload into v and queues the handler call h.
func (c *Client) event(kind string, payload []byte, v any, h func()) {
	if err := decodeEvent(kind, payload, v); err != nil {
		c.fail(err)
		return
	}
	c.emit(h)
}

// call calls handler h with v when h is set.
func call[T any](h func(T), v T) {
	if h != nil {
		h(v)
	}
}

// fail reports an error that has no caller to OnError.
func (c *Client) fail(err error) { c.emit(func() { call(c.cfg.OnError, err) }) }

// onConnection calls OnConnection.
func (c *Client) onConnection(ev Connection) { call(c.cfg.OnConnection, ev) }
