package main

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

func TestVarint(t *testing.T) {
	for _, tc := range []struct {
		v    int
		wire []byte
	}{
		{0, []byte{0}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{268435455, []byte{0xff, 0xff, 0xff, 0x7f}},
	} {
		if got := appendVarint(nil, tc.v); !bytes.Equal(got, tc.wire) {
			t.Errorf("appendVarint(%d) = %x, want %x", tc.v, got, tc.wire)
		}
		v, n, err := readVarint(tc.wire)
		if err != nil || v != tc.v || n != len(tc.wire) {
			t.Errorf("readVarint(%x) = %d, %d, %v", tc.wire, v, n, err)
		}
	}
	for _, bad := range [][]byte{{}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, _, err := readVarint(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("readVarint(%x) err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"connect v4", encodeConnect(nil, 4, "c", "", "", 60, 0),
			[]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'c'}},
		{"connect v5 user pass", encodeConnect(nil, 5, "c", "u", "p", 60, 0),
			[]byte{0x10, 20, 0, 4, 'M', 'Q', 'T', 'T', 5, 0xc2, 0, 60, 0, 0, 1, 'c', 0, 1, 'u', 0, 1, 'p'}},
		{"subscribe v4", encodeSubscribe(nil, 4, 1, "a/b", 1),
			[]byte{0x82, 8, 0, 1, 0, 3, 'a', '/', 'b', 1}},
		{"subscribe v5", encodeSubscribe(nil, 5, 1, "a", 0),
			[]byte{0x82, 7, 0, 1, 0, 0, 1, 'a', 0}},
		{"publish v4 qos0", appendPublish(nil, 4, "t", 0, 9, []byte("xy")),
			[]byte{0x30, 5, 0, 1, 't', 'x', 'y'}},
		{"publish v4 qos1", appendPublish(nil, 4, "t", 1, 0x0102, []byte("x")),
			[]byte{0x32, 6, 0, 1, 't', 1, 2, 'x'}},
		{"publish v5 qos1", appendPublish(nil, 5, "t", 1, 7, nil),
			[]byte{0x32, 6, 0, 1, 't', 0, 7, 0}},
		{"puback", appendPuback(nil, 0x0a0b), []byte{0x40, 2, 0x0a, 0x0b}},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: got % x, want % x", tc.name, tc.got, tc.want)
		}
	}
}

func TestPublishRoundTrip(t *testing.T) {
	payload := bytes.Repeat([]byte{0xab}, 300) // remaining length needs two bytes
	for _, v := range []byte{4, 5} {
		for _, qos := range []byte{0, 1} {
			wire := appendPublish(nil, v, "bench/x/pair/7", qos, 4242, payload)
			c := &client{r: bufio.NewReaderSize(bytes.NewReader(wire), 64)} // smaller than the packet
			typ, flags, body, err := c.read()
			if err != nil || typ != ptPublish {
				t.Fatalf("v%d qos%d: read = %d, %v", v, qos, typ, err)
			}
			p, err := decodePublish(v, flags, body)
			if err != nil {
				t.Fatalf("v%d qos%d: decode: %v", v, qos, err)
			}
			wantID := uint16(0)
			if qos > 0 {
				wantID = 4242
			}
			if p.QoS != qos || p.ID != wantID || string(p.Topic) != "bench/x/pair/7" || !bytes.Equal(p.Payload, payload) {
				t.Errorf("v%d qos%d: got qos %d id %d topic %q payload %d bytes", v, qos, p.QoS, p.ID, p.Topic, len(p.Payload))
			}
		}
	}
}

func TestDecodeAcks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v, typ  byte
		body    []byte
		id      uint16
		reason  byte
		wantErr bool
	}{
		{"puback v4", 4, ptPuback, []byte{0, 5}, 5, 0, false},
		{"puback v5 reason", 5, ptPuback, []byte{0, 5, 0x10, 0}, 5, 0x10, false},
		{"puback short", 4, ptPuback, []byte{0}, 0, 0, true},
		{"suback v4", 4, ptSuback, []byte{0, 1, 1}, 1, 1, false},
		{"suback v4 refused", 4, ptSuback, []byte{0, 1, 0x80}, 1, 0x80, false},
		{"suback v5 props", 5, ptSuback, []byte{0, 1, 2, 0x1f, 0, 0x87}, 1, 0x87, false},
		{"suback v5 props overflow", 5, ptSuback, []byte{0, 1, 9, 0}, 0, 0, true},
		{"suback empty", 4, ptSuback, []byte{0, 1}, 0, 0, true},
	} {
		id, reason, err := decodeAckID(tc.v, tc.typ, tc.body)
		if (err != nil) != tc.wantErr || id != tc.id || reason != tc.reason {
			t.Errorf("%s: got %d, 0x%02x, %v", tc.name, id, reason, err)
		}
	}
}

func TestDecodePublishMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		v     byte
		flags byte
		body  []byte
	}{
		{"qos3", 4, 0x06, []byte{0, 0}},
		{"no topic length", 4, 0, []byte{0}},
		{"topic past end", 4, 0, []byte{0, 5, 'a'}},
		{"no packet id", 4, 0x02, []byte{0, 1, 'a', 0}},
		{"v5 props past end", 5, 0, []byte{0, 1, 'a', 5}},
		{"v5 bad varint", 5, 0, []byte{0, 1, 'a', 0x80}},
	} {
		if _, err := decodePublish(tc.v, tc.flags, tc.body); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", tc.name, err)
		}
	}
}

func TestReadRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want error
	}{
		{"varint too long", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed},
		{"too large", append([]byte{0x30}, appendVarint(nil, maxPacket+1)...), ErrTooLarge},
	} {
		c := &client{r: bufio.NewReader(bytes.NewReader(tc.wire))}
		if _, _, _, err := c.read(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestPayloadHeaderAndBitmap(t *testing.T) {
	p := make([]byte, headerLen)
	putHeader(p, 123456789, 7, 1<<40)
	ns, pub, seq, ok := getHeader(p)
	if !ok || ns != 123456789 || pub != 7 || seq != 1<<40 {
		t.Fatalf("header round trip: %d %d %d %v", ns, pub, seq, ok)
	}
	if _, _, _, ok := getHeader(p[:headerLen-1]); ok {
		t.Fatal("short payload accepted")
	}
	var b bitmap
	for _, s := range []uint64{0, 63, 64, 1000} {
		if b.set(s) {
			t.Errorf("set(%d) reported a duplicate", s)
		}
	}
	if !b.set(64) || !b.has(1000) || b.has(999) {
		t.Error("bitmap membership wrong")
	}
	var acked bitmap
	for s := uint64(0); s < 1001; s++ {
		acked.set(s)
	}
	if n := missing(acked, &b); n != 1001-4 {
		t.Errorf("missing = %d, want %d", n, 1001-4)
	}
	if n := missing(acked, nil); n != 1001 {
		t.Errorf("missing(nil) = %d", n)
	}
}

// FuzzRead feeds arbitrary broker bytes through the packet reader and decoders:
// nothing may panic, and a decoded PUBLISH re-encodes to the same packet.
func FuzzRead(f *testing.F) {
	f.Add(byte(4), appendPublish(nil, 4, "a/b", 1, 3, []byte("hello")))
	f.Add(byte(5), appendPublish(nil, 5, "a/b", 0, 0, []byte("hello")))
	f.Add(byte(5), []byte{0x30, 6, 0, 1, 'a', 2, 1, 0}) // v5 publish with properties
	f.Add(byte(4), []byte{0x20, 2, 0, 0})               // connack
	f.Add(byte(5), []byte{0x90, 6, 0, 1, 2, 0x1f, 0, 0x87})
	f.Add(byte(4), []byte{0x40, 2, 0, 9, 0xd0, 0})
	f.Add(byte(4), []byte{0x30, 0xff, 0xff, 0xff, 0xff})
	f.Add(byte(4), []byte{0x32, 3, 0, 1})
	f.Fuzz(func(t *testing.T, v byte, wire []byte) {
		if v != 5 {
			v = 4
		}
		for _, size := range []int{16, 4096} { // whole and split across buffer refills
			c := &client{r: bufio.NewReaderSize(bytes.NewReader(wire), size)}
			for range 64 {
				typ, flags, body, err := c.read()
				if err != nil {
					break
				}
				switch typ {
				case ptPublish:
					p, err := decodePublish(v, flags, body)
					if err != nil {
						continue
					}
					if v == 4 && p.QoS < 3 && flags&0x09 == 0 {
						again := appendPublish(nil, v, string(p.Topic), p.QoS, p.ID, p.Payload)
						q, err := decodePublish(v, again[0]&0x0f, again[len(again)-len(body):])
						if err != nil || q.ID != p.ID || !bytes.Equal(q.Topic, p.Topic) || !bytes.Equal(q.Payload, p.Payload) {
							t.Fatalf("publish round trip: %+v vs %+v (%v)", p, q, err)
						}
					}
					_, _, _, _ = getHeader(p.Payload)
				case ptPuback, ptSuback:
					_, _, _ = decodeAckID(v, typ, body)
				case ptConnack:
					_, _ = decodeConnack(body)
				}
			}
		}
	})
}

func TestEncodeConnectPersistent(t *testing.T) {
	v4 := encodeConnect(nil, 4, "c", "", "", 60, 3600)
	if flags := v4[9]; flags&0x02 != 0 {
		t.Fatalf("3.1.1 persistent CONNECT has clean session set: % x", v4)
	}
	v5 := encodeConnect(nil, 5, "c", "", "", 60, 3600)
	// fixed header (2) + "MQTT" (6) + version + flags + keepalive (2) = 12: properties
	if v5[9]&0x02 == 0 || v5[12] != 5 || v5[13] != 0x11 || v5[17] != 0x10 {
		t.Fatalf("v5 persistent CONNECT: % x", v5)
	}
}
