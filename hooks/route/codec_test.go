package route

import (
	"bufio"
	"bytes"
	"reflect"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

func samplePublish() packets.Packet {
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1},
		TopicName:   "a/b",
		Payload:     []byte("hello"),
		Origin:      "client-1",
		Properties: packets.Properties{
			PayloadFormat: 1, PayloadFormatFlag: true, MessageExpiryInterval: 60,
			ContentType: "text/plain", ResponseTopic: "r/t", CorrelationData: []byte{1, 2},
			User: []packets.UserProperty{{Key: "k", Val: "v"}, {Key: "k", Val: "w"}},
		},
	}
}

func TestPublishRoundTrip(t *testing.T) {
	for _, pk := range []packets.Packet{
		samplePublish(),
		{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "t"},
	} {
		got, err := decodePublish(appendGroups(encodePublish(&pk), nil))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, pk) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, pk)
		}
	}
}

func TestPublishGroups(t *testing.T) {
	pk := samplePublish()
	got, err := decodePublish(appendGroups(encodePublish(&pk), []string{"$share/a/x", "$share/b/#"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Filters) != 2 || got.Filters[0].Filter != "$share/a/x" || got.Filters[1].Filter != "$share/b/#" {
		t.Fatalf("groups %v", got.Filters)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := appendGroups(encodePublish(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "t"}), nil)
	cases := map[string][]byte{
		"empty":      nil,
		"qos 3":      append([]byte{3}, good[1:]...),
		"bad flags":  append([]byte{0, 0x80}, good[2:]...),
		"trailing":   append(append([]byte{}, good...), 0),
		"truncated":  good[:len(good)-1],
		"no topic":   appendGroups(encodePublish(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}}), nil),
		"no groups":  good[:len(good)-1],
		"huge count": {0, 0, 1, 't', 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range cases {
		if _, err := decodePublish(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := decodeFilters([]byte{0xff, 0xff, 0x03}); err == nil {
		t.Error("filters with a count beyond the body decoded")
	}
}

func TestFramesAndFilters(t *testing.T) {
	var buf []byte
	buf = appendFrame(buf, frameHello, appendStr(nil, "n1"))
	buf = appendFrame(buf, frameFull, encodeFilters([]string{"a/#", "$share/g/b"}))
	buf = appendFrame(buf, frameTakeover, encodeTakeover("c1", 42))
	r := bufio.NewReader(bytes.NewReader(buf))
	typ, body, err := readFrame(r)
	if err != nil || typ != frameHello || string(body[1:]) != "n1" {
		t.Fatalf("hello: %c %q %v", typ, body, err)
	}
	typ, body, err = readFrame(r)
	if err != nil || typ != frameFull {
		t.Fatal(typ, err)
	}
	fs, err := decodeFilters(body)
	if err != nil || !reflect.DeepEqual(fs, []string{"a/#", "$share/g/b"}) {
		t.Fatalf("filters %v %v", fs, err)
	}
	typ, body, err = readFrame(r)
	if err != nil || typ != frameTakeover {
		t.Fatal(typ, err)
	}
	id, at, err := decodeTakeover(body)
	if err != nil || id != "c1" || at != 42 {
		t.Fatalf("takeover %q %d %v", id, at, err)
	}
}

func FuzzDecodePublish(f *testing.F) {
	pk := samplePublish()
	f.Add(appendGroups(encodePublish(&pk), []string{"$share/g/a"}))
	f.Add([]byte{0, 0, 1, 't', 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 3, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := decodePublish(b)
		if err != nil {
			return
		}
		var groups []string
		for _, g := range pk.Filters {
			groups = append(groups, g.Filter)
		}
		again, err := decodePublish(appendGroups(encodePublish(&pk), groups))
		if err != nil || !reflect.DeepEqual(again, pk) {
			t.Fatalf("re-encode of %#v: %#v, %v", pk, again, err)
		}
	})
}

func FuzzLinkFrames(f *testing.F) {
	f.Add(appendFrame(nil, frameFull, encodeFilters([]string{"a/#"})))
	f.Add(appendFrame(nil, frameTakeover, encodeTakeover("x", 1)))
	f.Add([]byte{'F', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for {
			typ, body, err := readFrame(r)
			if err != nil {
				return
			}
			switch typ {
			case frameFull:
				_, _ = decodeFilters(body)
			case frameTakeover:
				_, _, _ = decodeTakeover(body)
			case framePublish:
				_, _ = decodePublish(body)
			}
		}
	})
}

func BenchmarkEncodePublish(b *testing.B) {
	pk := samplePublish()
	b.ReportAllocs()
	for b.Loop() {
		_ = appendFrame(nil, framePublish, appendGroups(encodePublish(&pk), nil))
	}
}

func BenchmarkDecodePublish(b *testing.B) {
	pk := samplePublish()
	body := appendGroups(encodePublish(&pk), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodePublish(body); err != nil {
			b.Fatal(err)
		}
	}
}
