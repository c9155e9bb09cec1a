package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
)

// Durable sessions (doc.go "Durable sessions"): the records, the load at
// New, and the conversions between the engine's messages and the store's.

// unknownHigh marks a durable session's queue end as unknown: the next fill
// reads the store until it is empty.
const unknownHigh = math.MaxUint64

// dstate is the delivery state of a durable session (session.d, under
// session.mu). Its queue is the store's; only the window of what is being
// sent lives here.
type dstate struct {
	high    uint64    // the highest seq known to be queued (unknownHigh: read to the end)
	next    uint64    // every seq <= next was sent, skipped or is in win
	acked   uint64    // the contiguous acknowledged prefix (Dequeue target)
	deqd    uint64    // dequeued through (durable)
	deqBusy bool      // a Dequeue loop is queued or runs (one per session)
	written uint64    // the highest seq this process wrote to a connection (DUP)
	win     []dflight // sent, awaiting PUBACK / PUBREC, in seq order
	// rel are outbound QoS 2 ids whose PUBREC arrived: Release is queued
	// (stored false) or durable (true); they await PUBCOMP.
	rel map[uint16]relState
}

type dflight struct {
	seq uint64
	id  uint16
	qos byte
	rec bool // QoS 2: PUBREC received, released when it heads the window
}

type relState struct {
	seq    uint64 // 0: unknown (loaded from Flights.Released)
	stored bool
	failed bool // the Release failed: sent again at the next resume
}

// prefix is the seq through which everything is acknowledged: the first
// unacknowledged flight, a Release not yet durable, or what was read.
func (d *dstate) prefix() uint64 {
	p := d.next
	if len(d.win) > 0 {
		p = min(p, d.win[0].seq-1)
	}
	for _, r := range d.rel {
		if !r.stored && r.seq != 0 { // failed ones too, until resumed
			p = min(p, r.seq-1)
		}
	}
	return p
}

// storedMessage converts m for the store.
func storedMessage(m *message, t time.Time) ext.StoredMessage {
	sm := ext.StoredMessage{
		Topic:   m.topic,
		Payload: m.payload,
		Props:   m.props,
		QoS:     m.qos,
		Retain:  m.retain,
		Created: t.UnixMilli(),
	}
	if m.origin != nil {
		sm.Origin = m.origin.id
	}
	if m.expiresAt != 0 {
		sm.ExpiresAt = m.expiresAt * 1000
	}
	return sm
}

// loadedMessage converts a stored message (its byte slices are the store's
// copy: kept, not copied again).
func loadedMessage(sm *ext.StoredMessage) *message {
	m := &message{
		topic:   sm.Topic,
		payload: sm.Payload,
		props:   sm.Props,
		qos:     sm.QoS,
		retain:  sm.Retain,
	}
	m.props.MessageExpiryInterval = 0
	m.props.TopicAlias, m.props.TopicAliasFlag = 0, false
	m.props.SubscriptionIdentifier = nil
	if sm.ExpiresAt != 0 {
		m.expiresAt = (sm.ExpiresAt + 999) / 1000
	}
	return m
}

// storedWill converts a will for the session record.
func storedWill(w *will) *ext.Will {
	if w == nil {
		return nil
	}
	sm := storedMessage(&w.m, time.Time{})
	sm.Created = 0
	sm.Props.MessageExpiryInterval = w.expiry
	return &ext.Will{StoredMessage: sm, Delay: w.delay}
}

// loadedWill converts a stored will back.
func loadedWill(sw *ext.Will, info *ext.Client) *will {
	m := loadedMessage(&sw.StoredMessage)
	m.expiresAt = 0
	return &will{m: *m, expiry: sw.Props.MessageExpiryInterval, delay: sw.Delay, info: info}
}

// record is s's session record (s.mu held); disconnectedAt in unix ms, 0
// while connected; w the will to keep.
func (s *session) record(disconnectedAt int64, w *will) ext.Session {
	r := ext.Session{
		ClientID:       s.id,
		Username:       s.user,
		Expiry:         s.expiry,
		DisconnectedAt: disconnectedAt,
		Will:           storedWill(w),
	}
	if s.info != nil {
		r.ProtocolVersion = s.info.ProtocolVersion
	}
	return r
}

// storeSubscription converts one subscription.
func storeSubscription(filter string, o subOpts) ext.Subscription {
	return ext.Subscription{Filter: filter, QoS: o.qos, NoLocal: o.noLoc, RetainAsPublished: o.rap, RetainHandling: o.rh, Identifier: o.id}
}

// putRecord queues the write of s's record (disconnected at t ms, 0 =
// connected); errors are logged.
func (e *Engine) putRecord(r ext.Session) {
	e.write(r.ClientID, func(ctx context.Context) {
		if err := e.store.PutSession(ctx, r); err != nil {
			e.log.Warn().Err(err).Str(logfield.ClientID, r.ClientID).Msg("store session")
		}
	})
}

// deleteRecord queues DeleteSession for id; errors are logged.
func (e *Engine) deleteRecord(id string) {
	e.write(id, func(ctx context.Context) {
		err := e.copiesDone(ctx, id)
		if err == nil {
			err = e.store.DeleteSession(ctx, id)
		}
		if err != nil {
			e.log.Warn().Err(err).Str(logfield.ClientID, id).Msg("store delete session")
		}
	})
}

// load fills the session table and the retained index from the store (New,
// before the transport starts). A session stored as connected (the node
// stopped without its disconnect) is offline from now: its record is
// rewritten, its expiry starts and its will is scheduled.
func (e *Engine) load() error {
	t := now()
	sec := t.Unix()
	var wills []*will
	type stored struct {
		r    ext.Session
		subs []ext.Subscription
	}
	var all []stored // read first: Flights is not called inside Sessions' fn
	err := e.store.Sessions(func(r ext.Session, subs []ext.Subscription) error {
		all = append(all, stored{r, subs})
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: load sessions: %w", err)
	}
	for _, st := range all {
		r, subs := st.r, st.subs
		fl, err := e.store.Flights(r.ClientID)
		if err != nil {
			return fmt.Errorf("engine: load flights of %q: %w", r.ClientID, err)
		}
		// Another node's session (its record names it): mirrored, its
		// will that node's, connected there while DisconnectedAt is 0.
		foreign := e.shared != nil && r.Node != "" && r.Node != e.shared.Node()
		s := &session{e: e, id: strings.Clone(r.ClientID), user: r.Username, durable: true, expiry: r.Expiry, reload: foreign}
		s.info = &ext.Client{ID: s.id, Username: s.user, ProtocolVersion: r.ProtocolVersion}
		s.d = &dstate{high: unknownHigh}
		for _, id := range fl.Released {
			if s.d.rel == nil {
				s.d.rel = make(map[uint16]relState, len(fl.Released))
			}
			s.d.rel[id] = relState{stored: true}
		}
		for _, id := range fl.Inbound {
			if s.inQoS2 == nil {
				s.inQoS2 = make(map[uint16]bool, len(fl.Inbound))
			}
			s.inQoS2[id] = true
		}
		for _, sub := range subs {
			o := subOpts{id: sub.Identifier, qos: min(sub.QoS, e.cfg.MaxQoS), rh: sub.RetainHandling, noLoc: sub.NoLocal, rap: sub.RetainAsPublished}
			if s.subs == nil {
				s.subs = make(map[string]subOpts, len(subs))
			}
			s.subs[sub.Filter] = o
			e.topics.subscribe(s, sub.Filter, o)
		}
		if foreign && r.DisconnectedAt == 0 {
			s.remote = true
			e.mu.Lock()
			e.sessions[s.id] = s
			e.countLocked(s)
			e.mu.Unlock()
			continue
		}
		disc := r.DisconnectedAt
		if disc == 0 {
			disc = t.UnixMilli()
		}
		s.offlineAt = disc
		var w *will
		if r.Will != nil && !foreign {
			w = loadedWill(r.Will, s.info)
		}
		if r.DisconnectedAt == 0 {
			e.putRecord(s.record(disc, w))
		}
		e.mu.Lock()
		e.sessions[s.id] = s
		e.offline[s] = struct{}{}
		e.countLocked(s)
		e.scheduleLocked(s, s.offlineAt+int64(s.expiry)*1000)
		if w != nil {
			at := s.offlineAt + int64(min(w.delay, s.expiry))*1000
			if at <= t.UnixMilli() {
				wills = append(wills, w)
			} else {
				s.will, s.willAt = w, at
				e.scheduleLocked(s, at)
			}
		}
		e.mu.Unlock()
		if w != nil && s.will == nil {
			e.putRecord(s.record(disc, nil)) // its will goes now
		}
	}
	err = e.store.Retained(func(sm ext.StoredMessage) error {
		m := loadedMessage(&sm)
		if !m.expired(sec) {
			e.topics.retain(m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: load retained: %w", err)
	}
	for _, w := range wills {
		e.publishWill(w)
	}
	return nil
}

// publishCode is the v5 reason code of a refused durable write.
func publishCode(err error) byte {
	if errors.Is(err, ext.ErrQuotaExceeded) || errors.Is(err, ext.ErrDiskFull) {
		return 0x97
	}
	return 0x80
}

// durablePub is what one publish writes through Store.Publish: a copy per
// durable target session and, with retain, the retained update.
type durablePub struct {
	sessions []*session
	ds       []delivery
	retain   bool
	owner    string // the user charged for the retained update
	inline   bool   // the server's own message or a will (not charged)
	pubID    string // a durable publisher's client id with inbound
	inbound  uint16 // its QoS 2 packet id, recorded in the same write
	// later are the non-durable targets of a retained publish, delivered
	// once the write succeeded (deliverAll holds them).
	later   []*session
	laterDs []delivery
}

// commit makes dp durable (one Store.Publish), then updates the retained
// index and hands each copy's seq to its session. Nothing is delivered to a
// durable session from a refused write.
func (e *Engine) commit(ctx context.Context, m *message, dp *durablePub) error {
	defer func() {
		for _, s := range dp.sessions {
			e.copyEnd(s.id)
		}
	}()
	p := &ext.Publish{
		Message:     storedMessage(m, now()),
		Retain:      dp.retain,
		Owner:       dp.owner,
		Inline:      dp.inline,
		PublisherID: dp.pubID,
		Inbound:     dp.inbound,
	}
	if len(dp.sessions) > 0 {
		p.Copies = make([]ext.Copy, len(dp.sessions))
		for i, s := range dp.sessions {
			d := dp.ds[i]
			p.Copies[i] = ext.Copy{ClientID: s.id, QoS: d.qos, Retain: d.retain, SubIDs: d.subIDs}
		}
	}
	seqs, err := e.store.Publish(ctx, p)
	if err != nil && dp.retain && errors.Is(err, ext.ErrQuotaExceeded) && (m.qos == 0 || dp.inline) {
		// Over the owner's retained quota, a QoS 0 message or a will (nobody
		// to refuse) is delivered without being retained, as on the mochi
		// path (hooks/storage doc.go "Retained quota").
		dp.retain, p.Retain = false, false
		for i := range p.Copies {
			p.Copies[i].Retain = false
		}
		for i := range dp.ds {
			dp.ds[i].retain = false
		}
		for i := range dp.laterDs {
			dp.laterDs[i].retain = false
		}
		seqs, err = e.store.Publish(ctx, p)
	}
	if err != nil {
		return err
	}
	if len(seqs) != len(dp.sessions) {
		return fmt.Errorf("engine: store returned %d seqs for %d copies", len(seqs), len(dp.sessions))
	}
	if dp.retain && e.shared == nil {
		// [MQTT-3.3.1-5] [MQTT-3.3.1-6]; with a shared store the index
		// follows the log (mirror.go), updated before Publish returned.
		e.topics.retain(m)
	}
	for i, s := range dp.sessions {
		if seqs[i] == 0 {
			e.drop(ext.DropQueueFull)
			continue
		}
		s.mu.Lock()
		s.handoff(nil, seqs[i], dp.ds[i])
		s.mu.Unlock()
	}
	var fan fanout
	for i, s := range dp.later {
		e.deliver(nil, nil, s, dp.laterDs[i], &fan)
	}
	return nil
}

// commitAsync commits a publish nobody waits for (wills, Engine.Publish).
func (e *Engine) commitAsync(m *message, dp *durablePub) {
	if dp == nil {
		return
	}
	dp.inline = true
	e.run(m, dp, func(ctx context.Context) {
		if err := e.commit(ctx, m, dp); err != nil {
			e.log.Warn().Err(err).Str(logfield.Topic, m.topic).Msg("store publish")
		}
	})
}

// run starts a publish's write: on its topic's writer when it updates the
// retained message, else on its own goroutine.
func (e *Engine) run(m *message, dp *durablePub, fn func(ctx context.Context)) {
	if dp.retain {
		e.write(retainKey(m.topic), fn)
		return
	}
	e.spawn(fn)
}
