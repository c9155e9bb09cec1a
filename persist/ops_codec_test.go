package persist

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// allOps returns one valid op of every kind.
func allOps() []Op {
	m := msg("a/b", "payload")
	m.Expiry = 1_700_000_999_000
	return []Op{
		RequireRawOp([]byte("g/m/alice"), []byte("owner")), // guards come first
		RequireRawAbsentOp([]byte("g/m/bob")),
		PutSessionOp(Session{ClientID: "c/1", ProtocolVersion: 5, Will: &Will{Topic: "w", Payload: []byte("x")}}),
		DeleteSessionOp("c/1"),
		PutSubscriptionOp("c/1", Subscription{Filter: "a/#", QoS: 1, Identifier: 9}),
		DeleteSubscriptionOp("c/1", "a/#"),
		EnqueueOp("c/1", m),
		DequeueThroughOp("c/1", 42),
		PutInflightOp("c/1", Inflight{Dir: Outbound, PacketID: 3, Message: m}),
		DeleteInflightOp("c/1", Inbound, 4),
		PutRetainedOp(m),
		DeleteRetainedOp("a/b"),
		PutRawOp([]byte("x/conv/1"), []byte("v"), 1_700_000_000_000),
		PutRawIfAbsentOp([]byte("d/dedupe"), nil, 0),
		DeleteRawOp([]byte("g/group")),
		IncrRawOp([]byte("c/counter"), 1),
		AppendRawOp([]byte("c/conv"), []byte("x/conv/"), []byte("i/conv/alice/cid1"), []byte(`{"body":"hi"}`),
			1_700_000_000_000, []byte("v/conv/alice/r"), []byte("v/conv/alice/d")),
		MaxRawOp([]byte("v/conv/bob/r"), 7),
		PutBodyOp(m),
		EnqueueRefOp("c/1", QueueRef{QoS: 1, Retain: true, Expiry: m.Expiry, SubscriptionIDs: []int{3, 9}}),
		EnqueueRefOp("c/2", QueueRef{Body: 7, QoS: 2, Expiry: m.Expiry}),
		PutRetainedOwnedOp(m, "alice", 1000, 16<<20),
		StageRefOp("c/3", QueueRef{QoS: 1, Expiry: m.Expiry}),
		CommitBodyOp(7),
		DropStagedOp(8),
	}
}

func TestOpsRoundTrip(t *testing.T) {
	ops := allOps()
	kinds := map[OpKind]bool{}
	for _, op := range ops {
		kinds[op.Kind] = true
	}
	if len(kinds) != int(opKindEnd)-1 {
		t.Fatalf("allOps covers %d kinds of %d", len(kinds), int(opKindEnd)-1)
	}
	b, err := EncodeOps(ops)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeOps(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ops, got) {
		t.Fatalf("round trip:\n in %#v\nout %#v", ops, got)
	}
	for i := 0; i < len(b); i++ {
		if _, err := DecodeOps(b[:i]); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	if _, err := DecodeOps(append(b, 0)); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("trailing: %v", err)
	}
	empty, _ := EncodeOps(nil)
	if got, err := DecodeOps(empty); err != nil || len(got) != 0 {
		t.Fatalf("empty batch: %v %v", got, err)
	}
}

func TestOpsRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		ops := randGuards(r)
		for range r.IntN(8) {
			ops = append(ops, randOp(r))
		}
		b, err := EncodeOps(ops)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		got, err := DecodeOps(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if len(ops) == 0 {
			ops = []Op{}
		}
		if !reflect.DeepEqual(ops, got) {
			t.Fatalf("round trip:\n in %#v\nout %#v", ops, got)
		}
		b2, _ := EncodeOps(got)
		if !bytes.Equal(b, b2) {
			t.Fatal("re-encode differs")
		}
	}
}

func TestEncodeOpsRejectsInvalid(t *testing.T) {
	long := strings.Repeat("x", maxKeySize)
	tests := []struct {
		name string
		op   Op
		want string
	}{
		{"unknown kind", Op{Kind: 99}, "unknown kind"},
		{"zero kind", Op{}, "unknown kind"},
		{"put session nil", Op{Kind: OpPutSession}, "no session"},
		{"put session bad", PutSessionOp(Session{ProtocolVersion: 5}), "empty client id"},
		{"delete session empty", DeleteSessionOp(""), "empty client id"},
		{"client too long", DeleteSessionOp(strings.Repeat("c", 70000)), "client id of"},
		{"subscription nil", Op{Kind: OpPutSubscription, Client: "c"}, "no subscription"},
		{"subscription key too long", PutSubscriptionOp("c", Subscription{Filter: long}), "key of"},
		{"delete subscription empty", DeleteSubscriptionOp("c", ""), "empty filter"},
		{"enqueue nil", Op{Kind: OpEnqueue, Client: "c"}, "no message"},
		{"enqueue bad qos", EnqueueOp("c", Message{QoS: 3}), "qos 3"},
		{"inflight bad", PutInflightOp("c", Inflight{Dir: Outbound}), "packet id 0"},
		{"delete inflight dir", DeleteInflightOp("c", 'z', 1), "direction"},
		{"retained no topic", PutRetainedOp(Message{Payload: []byte("x")}), "empty topic"},
		{"retained topic too long", PutRetainedOp(Message{Topic: long, Payload: []byte("x")}), "key of"},
		{"delete retained empty", DeleteRetainedOp(""), "empty topic"},
		{"raw outside prefix", PutRawOp([]byte("s/evil"), nil, 0), "outside the raw prefixes"},
		{"raw meta", DeleteRawOp([]byte("m/applied_index")), "outside the raw prefixes"},
		{"raw short", IncrRawOp([]byte("x/"), 1), "outside the raw prefixes"},
		{"raw expiry", PutRawOp([]byte("x/k"), nil, -1), "expires at"},
		{"raw value too big", PutRawOp([]byte("x/k"), make([]byte, MaxRecordSize+1), 0), "value of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeOps([]Op{tt.op})
			if !errors.Is(err, ErrInvalidOp) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrInvalidOp mentioning %q", err, tt.want)
			}
		})
	}
}

func TestIsRawKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"c/conv", true}, {"x/1", true}, {"g/group", true}, {"z/z", true},
		{"c/", false}, {"c", false}, {"", false},
		{"s/x", false}, {"b/x", false}, {"q/x", false}, {"f/x", false}, {"r/x", false},
		{"m/x", false}, {"n/x", false}, {"e/x", false}, {"a/x", false}, {"t/x", false},
		{"C/x", false}, {"cx/y", false}, {"!badger!x", false},
	}
	for _, tt := range tests {
		if got := IsRawKey([]byte(tt.key)); got != tt.want {
			t.Errorf("IsRawKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if !IsRawPrefix([]byte("x/")) || IsRawPrefix([]byte("x")) || IsRawPrefix([]byte("s/")) {
		t.Error("IsRawPrefix")
	}
}

// TestClientPrefixExact: the scan prefix of one client never matches another
// client's keys, whatever bytes the ids hold.
func TestClientPrefixExact(t *testing.T) {
	ids := []string{"a", "ab", "a/b", "a/", "a\x00", "a\x00b", "\x00", "/", "b", strings.Repeat("a", 300)}
	for _, p := range []string{pfxSubscription, pfxQueue, pfxInflight} {
		for _, x := range ids {
			px := clientPrefix(p, x, 0)
			for _, y := range ids {
				keys := [][]byte{subscriptionKey(y, "f"), queueKey(y, 1), inflightKey(y, Outbound, 1)}
				for _, k := range keys {
					if !bytes.HasPrefix(k, []byte(p)) {
						continue
					}
					if got := bytes.HasPrefix(k, px); got != (x == y) {
						t.Fatalf("prefix %q of %q matches key %q of %q: %v", p, x, k, y, got)
					}
				}
			}
		}
	}
}
