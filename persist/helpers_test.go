package persist

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/testkit"
)

func testLogger(t testing.TB) zerolog.Logger {
	if _, ok := t.(*testing.B); ok {
		return zerolog.Nop()
	}
	return testkit.Logger(t, zerolog.InfoLevel)
}

// testConfig is a small on-disk config in a fresh temporary directory.
func testConfig(t testing.TB) Config {
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.MemTableSize = minMemTableSize
	cfg.BlockCacheSize = minBlockCacheSize
	cfg.ValueLogFileSize = minValueLogFileSize
	cfg.MinFreeBytes = 0
	cfg.ValueLogGCInterval = 0
	return cfg
}

func memConfig() Config {
	cfg := DefaultConfig()
	cfg.Dir = ""
	cfg.InMemory = true
	cfg.MemTableSize = minMemTableSize
	cfg.BlockCacheSize = minBlockCacheSize
	cfg.ValueLogGCInterval = 0
	cfg.MinFreeBytes = 0
	return cfg
}

// mustOpen opens a store and registers its Close (and a consistency check) for
// cleanup.
func mustOpen(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// mustApply applies batches at index and fails the test on error.
func mustApply(t testing.TB, s *Store, index uint64, batches ...[]Op) [][]Result {
	t.Helper()
	res, err := s.Apply(index, batches)
	if err != nil {
		t.Fatalf("apply %d: %v", index, err)
	}
	for bi, br := range res {
		for oi, r := range br {
			if r.Err != nil {
				t.Fatalf("apply %d batch %d op %d: %v", index, bi, oi, r.Err)
			}
		}
	}
	return res
}

// dump returns the store's snapshot bytes: equal dumps mean equal content.
func dump(t testing.TB, s *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return buf.Bytes()
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, d, what, cond)
}

// goroutineBaseline returns a check that the goroutine count is back to what it
// was (with a polling deadline).
func goroutineBaseline(t testing.TB) func() {
	base := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:n])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// Random record generators for property tests.

func randString(r *rand.Rand, max int) string {
	n := r.IntN(max + 1)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func randBytes(r *rand.Rand, max int) []byte {
	n := r.IntN(max + 1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func randProps(r *rand.Rand) Properties {
	p := Properties{
		PayloadFormat:   byte(r.IntN(2)),
		ContentType:     randString(r, 8),
		ResponseTopic:   randString(r, 8),
		CorrelationData: randBytes(r, 8),
		MessageExpiry:   r.Uint32(),
	}
	if n := r.IntN(3); n > 0 {
		for range n {
			p.UserProperties = append(p.UserProperties, UserProperty{randString(r, 5), randString(r, 5)})
		}
	}
	if n := r.IntN(3); n > 0 {
		for range n {
			p.SubscriptionIDs = append(p.SubscriptionIDs, 1+r.IntN(maxVarByteInt))
		}
	}
	return p
}

func randMessage(r *rand.Rand) Message {
	return Message{
		Topic:      randString(r, 20),
		Payload:    randBytes(r, 64),
		QoS:        byte(r.IntN(3)),
		Retain:     r.IntN(2) == 1,
		Dup:        r.IntN(2) == 1,
		PacketID:   uint16(r.Uint32()),
		Created:    r.Int64N(1 << 45),
		Expiry:     r.Int64N(1 << 45),
		Origin:     randString(r, 10),
		Properties: randProps(r),
	}
}

func randSession(r *rand.Rand) Session {
	s := Session{
		ClientID:        "c" + randString(r, 12),
		Username:        randString(r, 8),
		ProtocolVersion: byte(3 + r.IntN(3)),
		Clean:           r.IntN(2) == 1,
		SessionExpiry:   r.Uint32(),
		DisconnectedAt:  r.Int64N(1 << 45),
		NodeID:          randString(r, 4),
	}
	if r.IntN(2) == 1 {
		s.Will = &Will{
			Topic: randString(r, 10), Payload: randBytes(r, 16), QoS: byte(r.IntN(3)),
			Retain: r.IntN(2) == 1, DelaySeconds: r.Uint32(), Properties: randProps(r),
		}
	}
	return s
}

func randSubscription(r *rand.Rand) Subscription {
	return Subscription{
		Filter:            "f" + randString(r, 16),
		QoS:               byte(r.IntN(3)),
		NoLocal:           r.IntN(2) == 1,
		RetainAsPublished: r.IntN(2) == 1,
		RetainHandling:    byte(r.IntN(3)),
		Identifier:        uint32(r.IntN(maxVarByteInt + 1)),
	}
}

func randInflight(r *rand.Rand) Inflight {
	dir := Outbound
	if r.IntN(2) == 1 {
		dir = Inbound
	}
	return Inflight{Dir: dir, PacketID: uint16(1 + r.IntN(65535)), Released: r.IntN(2) == 1, Message: randMessage(r)}
}

func randRawKey(r *rand.Rand) []byte {
	return append([]byte{rawPrefixLetters[r.IntN(len(rawPrefixLetters))], '/'}, "k"+randString(r, 8)...)
}

// randOp returns a random valid op.
func randOp(r *rand.Rand) Op {
	client := "c" + randString(r, 6)
	switch OpKind(1 + r.IntN(int(opKindEnd)-1)) {
	case OpPutSession:
		return PutSessionOp(randSession(r))
	case OpDeleteSession:
		return DeleteSessionOp(client)
	case OpPutSubscription:
		return PutSubscriptionOp(client, randSubscription(r))
	case OpDeleteSubscription:
		return DeleteSubscriptionOp(client, "f"+randString(r, 6))
	case OpEnqueue:
		return EnqueueOp(client, randMessage(r))
	case OpDequeueThrough:
		return DequeueThroughOp(client, r.Uint64())
	case OpPutInflight:
		return PutInflightOp(client, randInflight(r))
	case OpDeleteInflight:
		return DeleteInflightOp(client, Inbound, uint16(1+r.IntN(65535)))
	case OpPutRetained:
		m := randMessage(r)
		m.Topic = "t" + m.Topic
		return PutRetainedOp(m)
	case OpDeleteRetained:
		return DeleteRetainedOp("t" + randString(r, 6))
	case OpPutRaw:
		op := PutRawOp(randRawKey(r), randBytes(r, 32), r.Int64N(1<<45))
		op.IfAbsent = r.IntN(2) == 1
		return op
	case OpDeleteRaw:
		return DeleteRawOp(randRawKey(r))
	case OpAppendRaw:
		var dedup []byte
		if r.IntN(2) == 1 {
			dedup = append([]byte("i/k"), randString(r, 8)...)
		}
		var raise [][]byte
		for range r.IntN(3) {
			raise = append(raise, append([]byte("v/k"), randString(r, 8)...))
		}
		return AppendRawOp(append([]byte("c/k"), randString(r, 8)...), []byte("x/"+randString(r, 4)+"/"),
			dedup, randBytes(r, 32), r.Int64N(1<<45), raise...)
	case OpMaxRaw:
		return MaxRawOp(randRawKey(r), r.Uint64())
	case OpPutBody:
		return PutBodyOp(randMessage(r))
	case OpEnqueueRef:
		ref := QueueRef{Body: uint64(1 + r.IntN(4)), QoS: byte(r.IntN(3)), Retain: r.IntN(2) == 1}
		for range r.IntN(3) {
			ref.SubscriptionIDs = append(ref.SubscriptionIDs, 1+r.IntN(maxVarByteInt))
		}
		return EnqueueRefOp(client, ref)
	case OpStageRef:
		return StageRefOp(client, QueueRef{Body: uint64(1 + r.IntN(4)), QoS: byte(r.IntN(3))})
	case OpCommitBody:
		return CommitBodyOp(uint64(1 + r.IntN(4)))
	case OpDropStaged:
		return DropStagedOp(uint64(1 + r.IntN(4)))
	case OpPutRetainedOwned:
		m := randMessage(r)
		m.Topic = "t" + m.Topic[:min(len(m.Topic), 2)]
		return PutRetainedOwnedOp(m, []string{"", "alice", "bob"}[r.IntN(3)], uint64(r.IntN(4)), uint64(r.IntN(200)))
	default:
		return IncrRawOp(randRawKey(r), r.Uint64())
	}
}

func msg(topic, payload string) Message {
	return Message{Topic: topic, Payload: []byte(payload), QoS: 1, Created: 1_700_000_000_000}
}

func sess(client string) Session {
	return Session{ClientID: client, Username: "u-" + client, ProtocolVersion: 5, SessionExpiry: 3600}
}
