package storage

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/persist"
)

// v5Props are PUBLISH properties with every field the store keeps set.
func v5Props() packets.Properties {
	return packets.Properties{
		PayloadFormat: 1, PayloadFormatFlag: true,
		ContentType:     "text/plain",
		ResponseTopic:   "reply/to",
		CorrelationData: []byte{0, 1, 2},
		User:            []packets.UserProperty{{Key: "k", Val: "v1"}, {Key: "k", Val: "v2"}, {Key: "a", Val: ""}},
	}
}

func testSession(id string) ext.Session {
	w := &ext.Will{
		StoredMessage: ext.StoredMessage{Topic: "will/" + id, Payload: []byte("gone"), Props: v5Props(), QoS: 2, Retain: true, Origin: id},
		Delay:         30,
	}
	w.Props.MessageExpiryInterval = 600
	return ext.Session{ClientID: id, Username: "alice", ProtocolVersion: 5, Expiry: 3600, DisconnectedAt: 1700000000123, Will: w}
}

func testSubs() []ext.Subscription {
	return []ext.Subscription{
		{Filter: "a/+", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2, Identifier: 268435455},
		{Filter: "$share/g/b/#", QoS: 2, Identifier: 7},
		{Filter: "c", QoS: 0, RetainHandling: 1},
	}
}

// readSessions returns every stored session and its subscriptions.
func readSessions(t testing.TB, es *EngineStore) (map[string]ext.Session, map[string][]ext.Subscription) {
	t.Helper()
	ss, subs := map[string]ext.Session{}, map[string][]ext.Subscription{}
	err := es.Sessions(func(s ext.Session, sb []ext.Subscription) error {
		ss[s.ClientID], subs[s.ClientID] = s, sb
		return nil
	})
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	return ss, subs
}

// TestEngineStoreSessions: sessions with a will with every v5 property and
// subscriptions with every option read back as written; deletes remove
// exactly what they name.
func TestEngineStoreSessions(t *testing.T) {
	en := openEngine(t, t.TempDir(), DefaultConfig())
	ctx := testCtx(t)
	s1, s2 := testSession("c1"), testSession("c2")
	s2.Will, s2.ProtocolVersion, s2.Expiry, s2.DisconnectedAt = nil, 4, persist.NeverExpires, 0
	for _, s := range []ext.Session{s1, s2} {
		if err := en.es.PutSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := en.es.PutSubscriptions(ctx, "c1", testSubs()); err != nil {
		t.Fatal(err)
	}
	if err := en.es.PutSubscriptions(ctx, "c2", testSubs()[:1]); err != nil {
		t.Fatal(err)
	}
	if err := en.es.DeleteSubscriptions(ctx, "c1", []string{"c", "not/there"}); err != nil {
		t.Fatal(err)
	}
	ss, subs := readSessions(t, en.es)
	if !reflect.DeepEqual(ss["c1"], s1) || !reflect.DeepEqual(ss["c2"], s2) || len(ss) != 2 {
		t.Fatalf("sessions:\n got %+v\nwant %+v and %+v", ss, s1, s2)
	}
	sortSubs := func(s []ext.Subscription) map[string]ext.Subscription {
		m := map[string]ext.Subscription{}
		for _, x := range s {
			m[x.Filter] = x
		}
		return m
	}
	if got, want := sortSubs(subs["c1"]), sortSubs(testSubs()[:2]); !reflect.DeepEqual(got, want) {
		t.Fatalf("c1 subscriptions %+v, want %+v", got, want)
	}
	if err := en.es.DeleteSession(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	ss, subs = readSessions(t, en.es)
	if _, ok := ss["c1"]; ok || len(subs["c1"]) != 0 || len(ss) != 1 {
		t.Fatalf("after delete: %+v %+v", ss, subs)
	}
	// No write for nothing.
	before := en.app.count.Load()
	if err := en.es.PutSubscriptions(ctx, "c2", nil); err != nil {
		t.Fatal(err)
	}
	if err := en.es.DeleteSubscriptions(ctx, "c2", nil); err != nil {
		t.Fatal(err)
	}
	if n := en.app.count.Load() - before; n != 0 {
		t.Fatalf("%d applies for empty lists", n)
	}
}

// TestEngineStorePublish: seqs per copy in order, each copy with its own
// QoS, RETAIN flag and sorted identifiers, every property kept, the expiry
// read back; the retained update is in the same write.
func TestEngineStorePublish(t *testing.T) {
	en := openEngine(t, t.TempDir(), DefaultConfig())
	ctx := testCtx(t)
	now := time.Now().UnixMilli()
	msg := ext.StoredMessage{Topic: "a/b", Payload: []byte("hello"), Props: v5Props(), QoS: 2, Retain: true,
		Origin: "pub", Created: now, ExpiresAt: now + 60_000}
	p := &ext.Publish{Message: msg, Retain: true, Owner: "bob", Copies: []ext.Copy{
		{ClientID: "c1", QoS: 1, Retain: true, SubIDs: []int{9, 3}},
		{ClientID: "c2", QoS: 2},
		{ClientID: "c3", QoS: 0},
	}}
	before := en.app.count.Load()
	seqs, err := en.es.Publish(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := en.app.count.Load() - before; n != 1 {
		t.Fatalf("%d writes, want 1 (copies and retained update together)", n)
	}
	if !reflect.DeepEqual(seqs, []uint64{1, 1, 1}) {
		t.Fatalf("seqs %v", seqs)
	}
	seqs, err = en.es.Publish(ctx, &ext.Publish{Message: msg, Copies: []ext.Copy{{ClientID: "c2", QoS: 1}, {ClientID: "c1", QoS: 1}}})
	if err != nil || !reflect.DeepEqual(seqs, []uint64{2, 2}) {
		t.Fatalf("second publish: %v %v", seqs, err)
	}
	q, err := en.es.Queue("c1", 0, 0)
	if err != nil || len(q) != 2 {
		t.Fatalf("queue c1: %+v %v", q, err)
	}
	want := msg
	want.QoS = 1
	if q[0].Seq != 1 || q[0].QoS != 1 || !q[0].Retain || !reflect.DeepEqual(q[0].SubIDs, []int{3, 9}) {
		t.Fatalf("c1 copy %+v", q[0])
	}
	got := q[0].Message
	if !reflect.DeepEqual(got.Props, want.Props) || got.Topic != want.Topic || !bytes.Equal(got.Payload, want.Payload) ||
		got.Origin != "pub" || got.Created != now || got.ExpiresAt != now+60_000 {
		t.Fatalf("c1 message\n got %+v\nwant %+v", got, want)
	}
	if q, _ := en.es.Queue("c1", 1, 1); len(q) != 1 || q[0].Seq != 2 || q[0].Retain {
		t.Fatalf("c1 after 1: %+v", q)
	}
	var ret []ext.StoredMessage
	if err := en.es.Retained(func(m ext.StoredMessage) error { ret = append(ret, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ret) != 1 || ret[0].Topic != "a/b" || ret[0].QoS != 2 || !ret[0].Retain || ret[0].ExpiresAt != now+60_000 ||
		!reflect.DeepEqual(ret[0].Props, want.Props) {
		t.Fatalf("retained %+v", ret)
	}
	// No expiry: none read back, but the copy is bounded by the retention.
	msg.ExpiresAt = 0
	if _, err := en.es.Publish(ctx, &ext.Publish{Message: msg, Copies: []ext.Copy{{ClientID: "c3", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if q, _ := en.es.Queue("c3", 1, 0); len(q) != 1 || q[0].Message.ExpiresAt != 0 {
		t.Fatalf("c3: %+v", q)
	}
	raw, err := en.store.Queue("c3", 1, 0, time.Time{})
	if err != nil || len(raw) != 1 || raw[0].Message.Expiry != now+DefaultConfig().Retention.Milliseconds() {
		t.Fatalf("stored c3 copy %+v %v", raw, err)
	}
	// An empty retained payload deletes.
	msg.Payload = nil
	if _, err := en.es.Publish(ctx, &ext.Publish{Message: msg, Retain: true, Owner: "bob"}); err != nil {
		t.Fatal(err)
	}
	ret = nil
	_ = en.es.Retained(func(m ext.StoredMessage) error { ret = append(ret, m); return nil })
	if len(ret) != 0 {
		t.Fatalf("retained after empty payload: %+v", ret)
	}
}

// TestEngineStoreQueueBound: a copy for a full session gets seq 0 and is
// counted; the other copies are kept; a dequeue makes room again.
func TestEngineStoreQueueBound(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueMaxMessages = 2
	lim := &limitCounter{}
	en := openEngine(t, t.TempDir(), cfg, func(o *EngineOptions) { o.Limits = lim })
	ctx := testCtx(t)
	msg := ext.StoredMessage{Topic: "t", Payload: []byte("x"), QoS: 1}
	pub := func(ids ...string) []uint64 {
		t.Helper()
		p := &ext.Publish{Message: msg}
		for _, id := range ids {
			p.Copies = append(p.Copies, ext.Copy{ClientID: id, QoS: 1})
		}
		seqs, err := en.es.Publish(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return seqs
	}
	pub("full")
	pub("full")
	if got := pub("full", "ok", "full"); !reflect.DeepEqual(got, []uint64{0, 1, 0}) {
		t.Fatalf("seqs %v, want [0 1 0]", got)
	}
	if n := lim.get(LimitQueueMessages); n != 2 {
		t.Fatalf("%d drops counted, want 2", n)
	}
	if q, _ := en.es.Queue("full", 0, 0); len(q) != 2 {
		t.Fatalf("full session holds %d", len(q))
	}
	if err := en.es.Dequeue(ctx, "full", 1); err != nil {
		t.Fatal(err)
	}
	if got := pub("full", "full"); !reflect.DeepEqual(got, []uint64{3, 0}) {
		t.Fatalf("after dequeue: seqs %v, want [3 0]", got)
	}
	// The byte bound.
	cfg.QueueMaxMessages, cfg.QueueMaxBytes = 100, 5
	en2 := openEngine(t, t.TempDir(), cfg, func(o *EngineOptions) { o.Limits = lim })
	seqs, err := en2.es.Publish(ctx, &ext.Publish{Message: ext.StoredMessage{Topic: "t", Payload: []byte("12345")}, Copies: []ext.Copy{{ClientID: "b"}}})
	if err != nil || !reflect.DeepEqual(seqs, []uint64{0}) || lim.get(LimitQueueBytes) != 1 {
		t.Fatalf("byte bound: %v %v %d", seqs, err, lim.get(LimitQueueBytes))
	}
}

// fanoutPublish is a publish of a size-byte payload to n sessions s000...
func fanoutPublish(n, size int) *ext.Publish {
	p := &ext.Publish{Message: ext.StoredMessage{Topic: "fan/out", Payload: bytes.Repeat([]byte("p"), size), QoS: 1, Created: time.Now().UnixMilli()}}
	for i := range n {
		p.Copies = append(p.Copies, ext.Copy{ClientID: fmt.Sprintf("s%03d", i), QoS: 1, SubIDs: []int{i + 1}})
	}
	return p
}

// checkFanout checks that every copy of p is in its session's queue at the
// seq Publish returned.
func checkFanout(t *testing.T, es *EngineStore, p *ext.Publish, seqs []uint64) {
	t.Helper()
	for i, c := range p.Copies {
		if seqs[i] == 0 {
			t.Fatalf("copy %d (%s) got seq 0", i, c.ClientID)
		}
		q, err := es.Queue(c.ClientID, seqs[i]-1, 1)
		if err != nil || len(q) != 1 || q[0].Seq != seqs[i] || !bytes.Equal(q[0].Message.Payload, p.Message.Payload) ||
			!reflect.DeepEqual(q[0].SubIDs, c.SubIDs) {
			t.Fatalf("copy %d (%s) seq %d: %+v %v", i, c.ClientID, seqs[i], q, err)
		}
	}
}

// TestEngineStoreFanout: above fanoutMinBytes the message is one body with
// references in one write; above MaxCommandBytes it is staged over several
// writes, with the seqs read back and the inbound QoS 2 id written with the
// commit; no staging is left.
func TestEngineStoreFanout(t *testing.T) {
	en := openEngine(t, t.TempDir(), DefaultConfig(), func(o *EngineOptions) { o.MaxCommandBytes = 8 << 10 })
	ctx := testCtx(t)
	// Earlier messages, so seqs differ per session.
	if _, err := en.es.Publish(ctx, &ext.Publish{Message: ext.StoredMessage{Topic: "x", Payload: []byte("x")}, Copies: []ext.Copy{{ClientID: "s001", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	p := fanoutPublish(20, 1000) // 20 x 1128 > 16 KiB: shared, ~1.8 KiB command
	if !useSharedBody(len(p.Copies), len(p.Message.Topic)+len(p.Message.Payload)) {
		t.Fatal("test publish is not a shared-body fan-out")
	}
	before := en.app.count.Load()
	seqs, err := en.es.Publish(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := en.app.count.Load() - before; n != 1 {
		t.Fatalf("shared fan-out took %d writes, want 1", n)
	}
	checkFanout(t, en.es, p, seqs)
	if seqs[1] != 2 || seqs[0] != 1 {
		t.Fatalf("seqs %v", seqs[:2])
	}

	p = fanoutPublish(300, 1000) // 300 refs x ~50 bytes > 4 KiB budget: staged
	p.PublisherID, p.Inbound = "pub", 42
	before = en.app.count.Load()
	seqs, err = en.es.Publish(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := en.app.count.Load() - before; n < 3 {
		t.Fatalf("staged fan-out took %d writes, want several", n)
	}
	checkFanout(t, en.es, p, seqs)
	if f, err := en.es.Flights("pub"); err != nil || !reflect.DeepEqual(f.Inbound, []uint16{42}) {
		t.Fatalf("inbound id: %+v %v", f, err)
	}
	if ids, err := en.store.StaleStaged(time.Now().Add(1000*time.Hour), 10); err != nil || len(ids) != 0 {
		t.Fatalf("stagings left: %v %v", ids, err)
	}
}

// TestEngineStoreRetainedQuota: a retained message over its owner's quota
// fails with ext.ErrQuotaExceeded, counted, and writes nothing (not even the
// copies); inline updates are not charged.
func TestEngineStoreRetainedQuota(t *testing.T) {
	lim := &limitCounter{}
	en := openEngine(t, t.TempDir(), DefaultConfig(), func(o *EngineOptions) {
		o.Retained = RetainedConfig{MaxPerUser: 1}
		o.Limits = lim
	})
	ctx := testCtx(t)
	pub := func(topic, owner string, inline bool) error {
		_, err := en.es.Publish(ctx, &ext.Publish{
			Message: ext.StoredMessage{Topic: topic, Payload: []byte("v"), QoS: 1},
			Retain:  true, Owner: owner, Inline: inline,
			Copies: []ext.Copy{{ClientID: "sub", QoS: 1}}, PublisherID: "p", Inbound: 5,
		})
		return err
	}
	if err := pub("r/1", "bob", false); err != nil {
		t.Fatal(err)
	}
	if err := en.es.CompleteInbound(ctx, "p", 5); err != nil {
		t.Fatal(err)
	}
	err := pub("r/2", "bob", false)
	if !errors.Is(err, ext.ErrQuotaExceeded) || !errors.Is(err, persist.ErrQuotaExceeded) {
		t.Fatalf("over quota: %v", err)
	}
	if lim.get(LimitRetainedCount) != 1 {
		t.Fatalf("refusal not counted: %v", lim.n)
	}
	if q, _ := en.es.Queue("sub", 0, 0); len(q) != 1 {
		t.Fatalf("refused publish wrote copies: %d queued", len(q))
	}
	if f, _ := en.es.Flights("p"); len(f.Inbound) != 0 {
		t.Fatalf("refused publish wrote its inbound id: %+v", f)
	}
	if _, err := en.store.Retained("r/2", time.Time{}); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("refused retained stored: %v", err)
	}
	if err := pub("r/2", "", true); err != nil { // inline: not charged
		t.Fatal(err)
	}
	if err := pub("r/1", "bob", false); err != nil { // a replacement is within the quota
		t.Fatal(err)
	}
}

// TestEngineStoreFlights: Release records the PUBREC'd id and dequeues in
// one write; Complete and CompleteInbound forget ids; Flights reads them.
func TestEngineStoreFlights(t *testing.T) {
	en := openEngine(t, t.TempDir(), DefaultConfig())
	ctx := testCtx(t)
	var seqs []uint64
	for i := range 3 {
		s, err := en.es.Publish(ctx, &ext.Publish{
			Message: ext.StoredMessage{Topic: "t", Payload: []byte{byte(i)}, QoS: 2},
			Copies:  []ext.Copy{{ClientID: "c", QoS: 2}}, PublisherID: "p", Inbound: uint16(10 + i),
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s[0])
	}
	if f, _ := en.es.Flights("p"); !reflect.DeepEqual(f.Inbound, []uint16{10, 11, 12}) || len(f.Released) != 0 {
		t.Fatalf("publisher flights %+v", f)
	}
	before := en.app.count.Load()
	if err := en.es.Release(ctx, "c", ext.PacketIDFor(seqs[1]), seqs[1]); err != nil {
		t.Fatal(err)
	}
	if n := en.app.count.Load() - before; n != 1 {
		t.Fatalf("release took %d writes", n)
	}
	if q, _ := en.es.Queue("c", 0, 0); len(q) != 1 || q[0].Seq != seqs[2] {
		t.Fatalf("queue after release %+v", q)
	}
	if f, _ := en.es.Flights("c"); !reflect.DeepEqual(f.Released, []uint16{ext.PacketIDFor(seqs[1])}) || len(f.Inbound) != 0 {
		t.Fatalf("subscriber flights %+v", f)
	}
	if err := en.es.Complete(ctx, "c", ext.PacketIDFor(seqs[1])); err != nil {
		t.Fatal(err)
	}
	if err := en.es.CompleteInbound(ctx, "p", 11); err != nil {
		t.Fatal(err)
	}
	if f, _ := en.es.Flights("c"); len(f.Released) != 0 {
		t.Fatalf("after complete %+v", f)
	}
	if f, _ := en.es.Flights("p"); !reflect.DeepEqual(f.Inbound, []uint16{10, 12}) {
		t.Fatalf("after complete inbound %+v", f)
	}
}

// snapshotHas reports whether the store's snapshot holds marker anywhere.
func snapshotHas(t *testing.T, st *persist.Store, marker []byte) bool {
	t.Helper()
	var b bytes.Buffer
	if err := st.Snapshot(&b); err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b.Bytes(), marker)
}

// TestEngineStoreDequeueFreesBody: the shared body of a fan-out is gone
// from the store once every target dequeued (or was deleted).
func TestEngineStoreDequeueFreesBody(t *testing.T) {
	en := openEngine(t, t.TempDir(), DefaultConfig())
	ctx := testCtx(t)
	p := fanoutPublish(20, 1000)
	marker := []byte("MARKER-7f3a")
	p.Message.Payload = append(marker, p.Message.Payload...)
	seqs, err := en.es.Publish(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Copies {
		if !snapshotHas(t, en.store, marker) {
			t.Fatalf("body gone with %d of %d references left", len(p.Copies)-i, len(p.Copies))
		}
		if i%2 == 0 {
			err = en.es.Dequeue(ctx, c.ClientID, seqs[i])
		} else {
			err = en.es.DeleteSession(ctx, c.ClientID)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if snapshotHas(t, en.store, marker) {
		t.Fatal("body kept after every reference was released")
	}
}

// TestEngineStoreReopen: closing the store, the node and persist and opening
// them again gives back the same sessions, subscriptions, queues, flights
// and retained messages.
func TestEngineStoreReopen(t *testing.T) {
	dir := t.TempDir()
	en := openEngine(t, dir, DefaultConfig())
	ctx := testCtx(t)
	if err := en.es.PutSession(ctx, testSession("c1")); err != nil {
		t.Fatal(err)
	}
	if err := en.es.PutSubscriptions(ctx, "c1", testSubs()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	p := &ext.Publish{
		Message: ext.StoredMessage{Topic: "a/x", Payload: []byte("m"), Props: v5Props(), QoS: 2, Origin: "p", Created: now, ExpiresAt: now + 3_600_000},
		Retain:  true, Owner: "bob", PublisherID: "p", Inbound: 3,
		Copies: []ext.Copy{{ClientID: "c1", QoS: 2, SubIDs: []int{7}}},
	}
	var seqs []uint64
	for range 3 {
		s, err := en.es.Publish(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s[0])
	}
	if err := en.es.Release(ctx, "c1", ext.PacketIDFor(seqs[0]), seqs[0]); err != nil {
		t.Fatal(err)
	}
	read := func(es *EngineStore) (any, any, any, any, any, any) {
		ss, subs := readSessions(t, es)
		q, err := es.Queue("c1", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		f1, _ := es.Flights("c1")
		f2, _ := es.Flights("p")
		var ret []ext.StoredMessage
		if err := es.Retained(func(m ext.StoredMessage) error { ret = append(ret, m); return nil }); err != nil {
			t.Fatal(err)
		}
		return ss, subs, q, f1, f2, ret
	}
	a1, a2, a3, a4, a5, a6 := read(en.es)
	en.close()
	if err := en.es.PutSession(ctx, testSession("c9")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	en = openEngine(t, dir, DefaultConfig())
	b1, b2, b3, b4, b5, b6 := read(en.es)
	for i, pair := range [][2]any{{a1, b1}, {a2, b2}, {a3, b3}, {a4, b4}, {a5, b5}, {a6, b6}} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Fatalf("state %d differs after reopen:\nbefore %+v\n after %+v", i, pair[0], pair[1])
		}
	}
	if q := a3.([]ext.Queued); len(q) != 2 {
		t.Fatalf("queue before reopen: %+v", q)
	}
}

// TestEngineStoreSweepAndClose: the leader's sweep drops a stale staging;
// Close is idempotent and stops the sweep goroutine; Start after Close
// starts nothing.
func TestEngineStoreSweepAndClose(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SweepInterval = 10 * time.Millisecond
	var leader atomic.Bool
	en := openEngine(t, t.TempDir(), cfg, func(o *EngineOptions) { o.IsLeader = leader.Load })
	past := time.Now().Add(-time.Minute).UnixMilli()
	ops := []persist.Op{persist.PutBodyOp(persist.Message{Topic: "t", Payload: []byte("x"), Expiry: past}),
		persist.StageRefOp("c", persist.QueueRef{QoS: 1, Expiry: past})}
	if _, err := en.es.core.apply(testCtx(t), ops); err != nil {
		t.Fatal(err)
	}
	// Not the leader: the sweep leaves it.
	if ids, err := en.store.StaleStaged(time.Now(), 10); err != nil || len(ids) != 1 {
		t.Fatalf("stale staging before the sweep: %v %v", ids, err)
	}
	leader.Store(true)
	testkit.Eventually(t, 5*time.Second, "stale staging dropped", func() bool {
		ids, err := en.store.StaleStaged(time.Now(), 10)
		return err == nil && len(ids) == 0
	})
	if err := en.es.Close(); err != nil {
		t.Fatal(err)
	}
	if err := en.es.Close(); err != nil {
		t.Fatal(err)
	}
	en.es.Start()
	if _, err := en.es.Publish(testCtx(t), &ext.Publish{Message: ext.StoredMessage{Topic: "t"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after Close: %v", err)
	}
}
