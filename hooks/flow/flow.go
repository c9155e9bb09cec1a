package flow

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Config is the hook's part of the limits configuration.
type Config struct {
	// MaxWait is how long a delivery may wait for a full subscriber queue before
	// the subscriber is marked slow (limits.slow_subscriber_wait); 0 turns
	// back-pressure off (full queues drop, as stock mochi does).
	MaxWait time.Duration `yaml:"slow_subscriber_wait"`
	// MaxQueuedBytes bounds the bytes of the deliveries waiting in one
	// client's outbound queue (limits.max_queued_bytes; doc.go "Bytes"); 0
	// turns the bound off. Nothing is allocated for it: it is a cap.
	MaxQueuedBytes int64 `yaml:"max_queued_bytes"`
}

// DefaultConfig waits up to 2 s for a full subscriber and bounds a client's
// queue at 8 MiB.
func DefaultConfig() Config { return Config{MaxWait: 2 * time.Second, MaxQueuedBytes: 8 << 20} }

// Validate refuses a negative wait or bound.
func (c Config) Validate() error {
	if c.MaxWait < 0 {
		return fmt.Errorf("slow_subscriber_wait: %s: must not be negative: %w", c.MaxWait, ErrInvalidConfig)
	}
	if c.MaxQueuedBytes < 0 {
		return fmt.Errorf("max_queued_bytes: %d: must not be negative (0: no bound): %w", c.MaxQueuedBytes, ErrInvalidConfig)
	}
	return nil
}

// Options are the server facts the hook needs.
type Options struct {
	// MaxInflight is mochi's Capabilities.MaximumInflight (limits.max_inflight).
	MaxInflight int
	// Log receives one line per subscriber marked slow.
	Log zerolog.Logger
	// Bypass reports a client whose deliveries do not go through mochi's
	// outbound queue (a persistent session the storage hook delivers to); its
	// bytes are not counted. nil: none.
	Bypass func(cl *mqtt.Client) bool
	// Observer counts what the byte bound drops; nil: nobody.
	Observer Observer
}

// First and last poll interval of a wait: short at first (a draining writer
// frees room within microseconds), longer while a subscriber stays full.
const (
	firstPoll = 50 * time.Microsecond
	lastPoll  = time.Millisecond
)

// Hook holds a delivery until its subscriber has room (see the package doc).
type Hook struct {
	mqtt.HookBase
	p           probe
	maxWait     time.Duration
	maxInflight int
	log         zerolog.Logger

	maxBytes     int64
	bypass       func(cl *mqtt.Client) bool
	obs          Observer
	sizes        sizes
	bytes        sync.Map      // client id -> *byteState (bytes.go)
	bytesMax     atomic.Int64  // largest queued bytes seen for one client
	bytesDropped atomic.Uint64 // deliveries refused by the byte bound
	bytesSlow    atomic.Uint64 // times a client was marked slow by the byte bound

	slow  sync.Map // *mqtt.Client -> struct{}: marked slow, nobody waits for it
	nslow atomic.Int64

	waits      atomic.Uint64 // deliveries that waited
	waitNanos  atomic.Uint64 // time they waited
	slowMarked atomic.Uint64 // times a subscriber was marked slow

	done     chan struct{}
	stopOnce sync.Once
}

// New returns the hook for a validated config.
func New(cfg Config, opts Options) (*Hook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p, err := newProbe()
	if err != nil {
		return nil, err
	}
	return &Hook{
		p:           p,
		maxWait:     cfg.MaxWait,
		maxInflight: opts.MaxInflight,
		log:         opts.Log,
		maxBytes:    cfg.MaxQueuedBytes,
		bypass:      opts.Bypass,
		obs:         opts.Observer,
		sizes:       sizes{m: map[string]*publishSize{}, by: map[*mqtt.Client]string{}},
		done:        make(chan struct{}),
	}, nil
}

// ID names the hook.
func (h *Hook) ID() string { return "imqtt-flow" }

// Provides lists the events the hook handles.
func (h *Hook) Provides(b byte) bool {
	return b == mqtt.OnACLCheck || b == mqtt.OnDisconnect || b == mqtt.OnPacketSent || b == mqtt.OnPublishDropped
}

// Init accepts no runtime config (it is given to New).
func (h *Hook) Init(any) error { return nil }

// Stop releases every waiting delivery (mochi calls it when the server closes).
// It is idempotent.
func (h *Hook) Stop() error {
	h.stopOnce.Do(func() { close(h.done) })
	return nil
}

// OnACLCheck never grants access: it returns false so that the ACL hook after it
// decides. For a read check (mochi's check right before it enqueues a delivery)
// it first waits while the subscriber's queue or in-flight window is full.
func (h *Hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write || cl.Net.Inline {
		return false
	}
	defer h.checkBytes(cl, topic)
	if h.maxWait <= 0 {
		return false
	}
	if !h.full(cl, 3, 4) {
		if h.nslow.Load() > 0 {
			h.unmark(cl)
		}
		return false
	}
	if _, slow := h.slow.Load(cl); slow {
		return false
	}
	h.wait(cl)
	return false
}

// NeverGrants marks the hook as an OnACLCheck provider that never returns true
// (the security invariant of hooks/doc.go; broker tests check it).
func (h *Hook) NeverGrants() bool { return true }

// OnDisconnect forgets a slow mark and the client's byte count.
func (h *Hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.unmark(cl)
	if v, ok := h.bytes.Load(cl.ID); ok && v.(*byteState).cl == cl {
		h.bytes.CompareAndDelete(cl.ID, v)
	}
}

// checkBytes applies the byte bound to a delivery to cl (after the packet
// bound's wait): see admitBytes.
func (h *Hook) checkBytes(cl *mqtt.Client, topic string) {
	if h.maxBytes <= 0 || (h.bypass != nil && h.bypass(cl)) {
		return
	}
	if size := h.sizes.size(topic); size > 0 {
		h.admitBytes(cl, size)
	}
}

// OnPacketSent counts a written PUBLISH out of the client's queued bytes.
func (h *Hook) OnPacketSent(cl *mqtt.Client, pk packets.Packet, _ []byte) {
	if h.maxBytes > 0 && pk.FixedHeader.Type == packets.Publish {
		h.sent(cl, &pk)
	}
}

// OnPublishDropped counts a delivery mochi dropped (queue full) out again.
func (h *Hook) OnPublishDropped(cl *mqtt.Client, pk packets.Packet) {
	if h.maxBytes > 0 {
		h.sent(cl, &pk)
	}
}

// full reports whether cl's outbound queue or in-flight window is at least
// num/den full.
func (h *Hook) full(cl *mqtt.Client, num, den int) bool {
	n, c := h.p.queue(cl)
	if c > 0 && n*den >= c*num {
		return true
	}
	if h.maxInflight > 0 && cl.State.Inflight != nil {
		return cl.State.Inflight.Len()*den >= h.maxInflight*num
	}
	return false
}

// wait polls until cl has drained to half, is gone, or MaxWait has passed (then
// cl is marked slow).
func (h *Hook) wait(cl *mqtt.Client) {
	if !h.pollUntil(func() bool { return cl.Closed() || !h.full(cl, 1, 2) }) {
		h.mark(cl)
	}
}

// pollUntil polls ready, more and more slowly, until it is true (or the hook
// stops: true too) or MaxWait has passed (false). Counted as one wait.
func (h *Hook) pollUntil(ready func() bool) bool {
	start := time.Now()
	deadline := start.Add(h.maxWait)
	poll := firstPoll
	t := time.NewTimer(poll)
	defer t.Stop()
	defer func() {
		h.waits.Add(1)
		h.waitNanos.Add(uint64(time.Since(start)))
	}()
	for {
		select {
		case <-h.done:
			return true
		case <-t.C:
		}
		if ready() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		poll = min(2*poll, lastPoll)
		t.Reset(poll)
	}
}

func (h *Hook) mark(cl *mqtt.Client) {
	if _, loaded := h.slow.LoadOrStore(cl, struct{}{}); loaded {
		return
	}
	h.nslow.Add(1)
	h.slowMarked.Add(1)
	n, c := h.p.queue(cl)
	inflight := 0
	if cl.State.Inflight != nil {
		inflight = cl.State.Inflight.Len()
	}
	h.log.Warn().Str(logfield.Client, cl.ID).Dur(logfield.Waited, h.maxWait).Int(logfield.Queued, n).Int(logfield.QueueCap, c).
		Int("inflight", inflight).Msg("slow subscriber: its queue stayed full; deliveries to it are dropped until it drains")
}

func (h *Hook) unmark(cl *mqtt.Client) {
	if _, ok := h.slow.LoadAndDelete(cl); ok {
		h.nslow.Add(-1)
	}
}

// Stats are the hook's counters.
type Stats struct {
	Waits       uint64        // deliveries that waited for room
	WaitTime    time.Duration // their total wait
	SlowMarked  uint64        // times a subscriber was marked slow
	SlowCurrent int64         // subscribers marked slow now
	// Byte bound (limits.max_queued_bytes).
	QueuedBytesMax     int64  // largest queued bytes seen for one client
	QueuedBytesDropped uint64 // deliveries it refused
	QueuedBytesSlow    uint64 // times it marked a client slow
}

// Stats returns the counters.
func (h *Hook) Stats() Stats {
	return Stats{
		Waits:       h.waits.Load(),
		WaitTime:    time.Duration(h.waitNanos.Load()),
		SlowMarked:  h.slowMarked.Load(),
		SlowCurrent: h.nslow.Load(),

		QueuedBytesMax:     h.bytesMax.Load(),
		QueuedBytesDropped: h.bytesDropped.Load(),
		QueuedBytesSlow:    h.bytesSlow.Load(),
	}
}

// compile-time check that the hook satisfies mochi's interface.
var _ mqtt.Hook = (*Hook)(nil)
