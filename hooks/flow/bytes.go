package flow

import (
	"sync"
	"sync/atomic"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Byte bound (limits.max_queued_bytes): see doc.go "Bytes".

// LimitQueuedBytes is the imqtt_limit_refusals_total label of the bound (its
// config key).
const LimitQueuedBytes = "max_queued_bytes"

// packetOverhead stands for a PUBLISH's fixed header, length, packet id and
// the properties the broker adds, in the byte count.
const packetOverhead = 16

// Observer counts what the byte bound drops (hooks/metrics). Its methods
// must not block.
type Observer interface {
	// LimitRefused counts one delivery refused by the bound (limit is
	// LimitQueuedBytes).
	LimitRefused(limit string)
	// QueuedBytesDropped counts one message dropped by the bound
	// (imqtt_messages_dropped_total{reason="max_queued_bytes"}).
	QueuedBytesDropped()
}

// byteState is one client's queued bytes.
type byteState struct {
	cl       *mqtt.Client
	n        atomic.Int64 // bytes of the deliveries queued and not yet written
	dropping atomic.Bool  // the last delivery was refused: Dropping vetoes it
	slow     atomic.Bool  // waited MaxWait once; nobody waits for it again until it drains
}

// publishSize is the byte count of one publish being delivered.
type publishSize struct {
	size int64
	refs int
}

// sizes maps the topic of each publish being delivered (mochi passes it to
// OnACLCheck for every subscriber) to its byte count; see Tap. Publishes to
// one topic delivered at the same time share an entry holding the largest of
// their sizes: the count may be over, never under.
type sizes struct {
	mu sync.Mutex
	m  map[string]*publishSize
	by map[*mqtt.Client]string // the topic each non-inline publisher is delivering
}

// size returns the byte count of the publish whose topic is topic, 0 when
// it is not a publish being delivered (a retained message sent on SUBSCRIBE).
func (s *sizes) size(topic string) int64 {
	if topic == "" {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.m[topic]; p != nil {
		return p.size
	}
	return 0
}

func (s *sizes) open(cl *mqtt.Client, pk *packets.Packet) {
	if pk.TopicName == "" {
		return
	}
	key, n := pk.TopicName, packetBytes(pk)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !cl.Net.Inline {
		if old := s.by[cl]; old != "" {
			s.dropLocked(old) // its previous publish never reached OnPublished
		}
		s.by[cl] = key
	}
	if p := s.m[key]; p != nil {
		p.refs++
		p.size = max(p.size, n)
		return
	}
	s.m[key] = &publishSize{size: n, refs: 1}
}

func (s *sizes) close(cl *mqtt.Client, topic string) {
	if topic == "" {
		return
	}
	key := topic
	s.mu.Lock()
	defer s.mu.Unlock()
	if !cl.Net.Inline {
		if s.by[cl] != key {
			return
		}
		delete(s.by, cl)
	}
	s.dropLocked(key)
}

// forget drops what a disconnected publisher left open.
func (s *sizes) forget(cl *mqtt.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key := s.by[cl]; key != "" {
		delete(s.by, cl)
		s.dropLocked(key)
	}
}

func (s *sizes) dropLocked(key string) {
	if p := s.m[key]; p != nil {
		if p.refs--; p.refs <= 0 {
			delete(s.m, key)
		}
	}
}

// packetBytes is what one queued copy of pk counts: topic, payload, the
// publisher's properties that every copy carries, and packetOverhead. The
// same function counts the copy out when it is written; a copy written with
// a topic alias counts out without its topic, which over-counts until the
// queue is next empty (never under).
func packetBytes(pk *packets.Packet) int64 {
	n := packetOverhead + len(pk.TopicName) + len(pk.Payload) +
		len(pk.Properties.ContentType) + len(pk.Properties.ResponseTopic) + len(pk.Properties.CorrelationData)
	for _, u := range pk.Properties.User {
		n += 4 + len(u.Key) + len(u.Val)
	}
	return int64(n)
}

// state returns cl's byte state, replacing one left by an earlier connection
// with the same client id.
func (h *Hook) state(cl *mqtt.Client) *byteState {
	if v, ok := h.bytes.Load(cl.ID); ok {
		if st := v.(*byteState); st.cl == cl {
			return st
		}
	}
	st := &byteState{cl: cl}
	h.bytes.Store(cl.ID, st)
	return st
}

// queued returns cl's queued bytes: none when its outbound queue is empty
// (which also clears what was counted for deliveries that were never
// queued: refused by the ACL after this hook, or dropped by mochi).
func (h *Hook) queued(cl *mqtt.Client, st *byteState) int64 {
	if n, _ := h.p.queue(cl); n == 0 {
		st.n.Store(0)
		st.slow.Store(false)
		return 0
	}
	return st.n.Load()
}

// admitBytes counts a delivery of size bytes to cl in, or, when it would
// take cl past MaxQueuedBytes, waits (up to MaxWait, once per slow episode)
// for cl to drain, then refuses it: Dropping(cl.ID) makes the ACL veto it.
// A delivery to an empty queue is always admitted (a packet larger than the
// bound still goes through, alone).
func (h *Hook) admitBytes(cl *mqtt.Client, size int64) {
	st := h.state(cl)
	q := h.queued(cl, st)
	if q > 0 && q+size > h.maxBytes && h.maxWait > 0 && !st.slow.Load() {
		q = h.waitBytes(cl, st, size)
	}
	if q == 0 || q+size <= h.maxBytes {
		st.dropping.Store(false)
		h.observe(st.n.Add(size))
		return
	}
	st.dropping.Store(true)
	if !st.slow.Swap(true) {
		h.bytesSlow.Add(1)
		h.log.Warn().Str(logfield.Client, cl.ID).Int64(logfield.QueuedBytes, q).Int64(logfield.MaxQueuedBytes, h.maxBytes).
			Msg("slow subscriber: its queued bytes stayed at max_queued_bytes; deliveries to it are dropped until it drains")
	}
	h.bytesDropped.Add(1)
	if h.obs != nil {
		h.obs.LimitRefused(LimitQueuedBytes)
		h.obs.QueuedBytesDropped()
	}
}

// waitBytes polls until size more bytes fit, cl is gone or MaxWait passed,
// and returns cl's queued bytes then.
func (h *Hook) waitBytes(cl *mqtt.Client, st *byteState, size int64) int64 {
	h.pollUntil(func() bool {
		q := h.queued(cl, st)
		return cl.Closed() || q == 0 || q+size <= h.maxBytes
	})
	return h.queued(cl, st)
}

// observe keeps the largest queued bytes seen for any client.
func (h *Hook) observe(v int64) {
	for {
		seen := h.bytesMax.Load()
		if v <= seen || h.bytesMax.CompareAndSwap(seen, v) {
			return
		}
	}
}

// sent counts a written PUBLISH (or one mochi dropped) out of cl's bytes.
func (h *Hook) sent(cl *mqtt.Client, pk *packets.Packet) {
	v, ok := h.bytes.Load(cl.ID)
	if !ok {
		return
	}
	st := v.(*byteState)
	if st.cl != cl {
		return
	}
	if n := st.n.Add(-packetBytes(pk)); n < 0 {
		st.n.CompareAndSwap(n, 0)
	}
}

// Dropping reports whether the last delivery to the client id was refused by
// the byte bound. The broker gives it to the ACL as a policy that vetoes that
// delivery (AccessRead); it decides nothing else.
func (h *Hook) Dropping(clientID string) bool {
	if h.maxBytes <= 0 {
		return false
	}
	v, ok := h.bytes.Load(clientID)
	return ok && v.(*byteState).dropping.Load()
}

// Tap is the part of the flow hook that learns the size of each publish: add
// it after every other hook (Hook.Tap), so that it sees the packet mochi
// delivers, and only when every hook accepted it.
type Tap struct {
	mqtt.HookBase
	h *Hook
}

// Tap returns the hook's publish-size tap.
func (h *Hook) Tap() *Tap { return &Tap{h: h} }

// ID names the tap.
func (t *Tap) ID() string { return "imqtt-flow-tap" }

// Provides lists the events the tap handles.
func (t *Tap) Provides(b byte) bool {
	return b == mqtt.OnPublish || b == mqtt.OnPublished || b == mqtt.OnDisconnect
}

// Init accepts no config.
func (t *Tap) Init(any) error { return nil }

// OnPublish records the size of the publish mochi is about to deliver.
func (t *Tap) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if t.h.maxBytes > 0 {
		t.h.sizes.open(cl, &pk)
	}
	return pk, nil
}

// OnPublished forgets it once delivered.
func (t *Tap) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if t.h.maxBytes > 0 {
		t.h.sizes.close(cl, pk.TopicName)
	}
}

// OnDisconnect forgets a publish its client left open (mochi skips
// OnPublished when the QoS 1/2 ack cannot be written).
func (t *Tap) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { t.h.sizes.forget(cl) }

var _ mqtt.Hook = (*Tap)(nil)
