package persist

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// record is what every codec implements.
type record interface {
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

func fullProps() Properties {
	return Properties{
		PayloadFormat:   1,
		ContentType:     "application/json",
		ResponseTopic:   "reply/to/me",
		CorrelationData: []byte{0, 1, 2, 0xff},
		UserProperties:  []UserProperty{{"k", "v"}, {"k", "v2"}, {"", ""}},
		MessageExpiry:   4294967295,
		SubscriptionIDs: []int{1, 268435455},
	}
}

func TestCodecRoundTripTable(t *testing.T) {
	tests := []struct {
		name string
		in   record
		out  func() record
	}{
		{"message zero", &Message{}, func() record { return &Message{} }},
		{"message full", &Message{
			Topic: "a/b/c", Payload: []byte("hello"), QoS: 2, Retain: true, Dup: true, PacketID: 65535,
			Created: 1_700_000_000_123, Expiry: 1_700_000_100_000, Origin: "pub-1", Properties: fullProps(),
		}, func() record { return &Message{} }},
		{"message binary topic", &Message{Topic: "a/\x00/b", Payload: []byte{0}}, func() record { return &Message{} }},
		{"session minimal", &Session{ClientID: "c", ProtocolVersion: 4}, func() record { return &Session{} }},
		{"session full", &Session{
			ClientID: "dev/1\x00x", Username: "alice", ProtocolVersion: 5, Clean: true,
			SessionExpiry: NeverExpires, DisconnectedAt: 1_700_000_000_000, NodeID: "n2",
			Will: &Will{Topic: "im/presence/alice", Payload: []byte("offline"), QoS: 1, Retain: true,
				DelaySeconds: 30, Properties: fullProps()},
		}, func() record { return &Session{} }},
		{"session will empty", &Session{ClientID: "c", ProtocolVersion: 3, Will: &Will{}}, func() record { return &Session{} }},
		{"subscription minimal", &Subscription{Filter: "#"}, func() record { return &Subscription{} }},
		{"subscription full", &Subscription{Filter: "$share/g/a/+/b", QoS: 2, NoLocal: true,
			RetainAsPublished: true, RetainHandling: 2, Identifier: maxVarByteInt}, func() record { return &Subscription{} }},
		{"inflight out", &Inflight{Dir: Outbound, PacketID: 7, Released: true, Message: Message{Topic: "t", QoS: 2}},
			func() record { return &Inflight{} }},
		{"inflight in", &Inflight{Dir: Inbound, PacketID: 65535, Message: Message{Topic: "t", Payload: []byte("p"), QoS: 2,
			Properties: fullProps()}}, func() record { return &Inflight{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.in.MarshalBinary()
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			out := tt.out()
			if err := out.UnmarshalBinary(b); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			if !reflect.DeepEqual(tt.in, out) {
				t.Fatalf("round trip:\n in %#v\nout %#v", tt.in, out)
			}
			b2, _ := out.MarshalBinary()
			if !bytes.Equal(b, b2) {
				t.Fatalf("re-encode differs")
			}
			// Every strict prefix is truncated input.
			for i := 0; i < len(b); i++ {
				if err := tt.out().UnmarshalBinary(b[:i]); !errors.Is(err, ErrCorruptRecord) {
					t.Fatalf("prefix %d/%d: err %v, want ErrCorruptRecord", i, len(b), err)
				}
			}
			// Trailing bytes are rejected.
			if err := tt.out().UnmarshalBinary(append(b, 0)); !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("trailing byte: err %v", err)
			}
		})
	}
}

func TestCodecRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() record{
		"message":      func() record { m := randMessage(r); return &m },
		"session":      func() record { s := randSession(r); return &s },
		"subscription": func() record { s := randSubscription(r); return &s },
		"inflight":     func() record { f := randInflight(r); return &f },
	}
	empty := map[string]func() record{
		"message":      func() record { return &Message{} },
		"session":      func() record { return &Session{} },
		"subscription": func() record { return &Subscription{} },
		"inflight":     func() record { return &Inflight{} },
	}
	for name, gen := range gens {
		t.Run(name, func(t *testing.T) {
			for i := 0; i < 2000; i++ {
				in := gen()
				b, err := in.MarshalBinary()
				if err != nil {
					t.Fatalf("marshal %#v: %v", in, err)
				}
				out := empty[name]()
				if err := out.UnmarshalBinary(b); err != nil {
					t.Fatalf("unmarshal: %v", err)
				}
				if !reflect.DeepEqual(in, out) {
					t.Fatalf("round trip:\n in %#v\nout %#v", in, out)
				}
			}
		})
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   record
		want string
	}{
		{"message qos", &Message{QoS: 3}, "qos 3"},
		{"message created", &Message{Created: -1}, "created"},
		{"message expiry", &Message{Expiry: -5}, "expiry"},
		{"message payload format", &Message{Properties: Properties{PayloadFormat: 2}}, "payload format"},
		{"message sub id 0", &Message{Properties: Properties{SubscriptionIDs: []int{0}}}, "subscription id"},
		{"message sub id big", &Message{Properties: Properties{SubscriptionIDs: []int{maxVarByteInt + 1}}}, "subscription id"},
		{"message too big", &Message{Payload: make([]byte, MaxRecordSize)}, "encoded size"},
		{"session no id", &Session{ProtocolVersion: 5}, "empty client id"},
		{"session version", &Session{ClientID: "c", ProtocolVersion: 6}, "protocol version"},
		{"session disconnected", &Session{ClientID: "c", ProtocolVersion: 5, DisconnectedAt: -1}, "disconnected"},
		{"session will qos", &Session{ClientID: "c", ProtocolVersion: 5, Will: &Will{QoS: 4}}, "will qos"},
		{"subscription filter", &Subscription{}, "empty filter"},
		{"subscription qos", &Subscription{Filter: "a", QoS: 3}, "qos"},
		{"subscription rh", &Subscription{Filter: "a", RetainHandling: 3}, "retain handling"},
		{"subscription id", &Subscription{Filter: "a", Identifier: maxVarByteInt + 1}, "identifier"},
		{"inflight dir", &Inflight{Dir: 'x', PacketID: 1}, "direction"},
		{"inflight pid", &Inflight{Dir: Outbound}, "packet id 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.MarshalBinary()
			if !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrInvalidRecord mentioning %q", err, tt.want)
			}
		})
	}
}

func TestUnmarshalRejectsMalformed(t *testing.T) {
	valid, _ := (&Message{Topic: "t", Payload: []byte("p")}).MarshalBinary()
	tests := []struct {
		name string
		in   []byte
		rec  record
	}{
		{"empty", nil, &Message{}},
		{"bad version", append([]byte{2}, valid[1:]...), &Message{}},
		{"unknown flag", append([]byte{1, 0x80}, valid[2:]...), &Message{}},
		{"qos 3", append([]byte{1, 0, 3}, valid[3:]...), &Message{}},
		// topic length 0x80 0x00 is a padded encoding of 0.
		{"non-minimal varint", []byte{1, 0, 0, 0x80, 0x00}, &Message{}},
		{"varint overflow", []byte{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, &Message{}},
		{"length beyond input", []byte{1, 0, 0, 0xff, 0xff, 0xff, 0x7f, 'a'}, &Message{}},
		{"huge user property count", append(append([]byte{}, valid[:len(valid)-2]...), 0xff, 0xff, 0xff, 0xff, 0x0f), &Message{}},
		{"session bad version", []byte{1, 0, 9, 1, 'c', 0, 0, 0, 0}, &Session{}},
		{"session empty id", []byte{1, 0, 5, 0, 0, 0, 0, 0}, &Session{}},
		{"subscription empty filter", []byte{1, 0, 0, 0, 0, 0}, &Subscription{}},
		{"subscription rh 3", []byte{1, 0, 0, 3, 1, 'a', 0}, &Subscription{}},
		{"inflight dir", []byte{1, 'x', 0, 1}, &Inflight{}},
		{"inflight pid 0", []byte{1, 'o', 0, 0}, &Inflight{}},
		{"bool byte 2 in ops", []byte{1, 1, byte(OpPutRaw), 3, 'x', '/', 'k', 0, 0, 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.rec == nil {
				_, err = DecodeOps(tt.in)
			} else {
				err = tt.rec.UnmarshalBinary(tt.in)
			}
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("err %v, want ErrCorruptRecord", err)
			}
		})
	}
}

func TestDecoderNoAllocBeyondInput(t *testing.T) {
	// Inputs claiming a 256 MiB payload, a 2^28-element list, a 2^28-op batch:
	// each must fail before allocating for the claim.
	inputs := map[string]func() error{
		"payload": func() error {
			var m Message
			return m.UnmarshalBinary([]byte{1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x01})
		},
		"user properties": func() error {
			var m Message
			return m.UnmarshalBinary([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x01})
		},
		"ops": func() error {
			_, err := DecodeOps([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x01})
			return err
		},
	}
	for name, decode := range inputs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 100
			for range runs {
				if err := decode(); !errors.Is(err, ErrCorruptRecord) {
					t.Fatalf("err %v", err)
				}
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 4096 {
				t.Fatalf("%d bytes allocated per rejected input", per)
			}
		})
	}
}
