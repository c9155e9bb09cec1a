package transport

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// recSink records what the framer produces.
type recSink struct {
	out []string
	err error
	max int // the size limit (0: MQTT's)
}

func (r *recSink) packet(fh packets.FixedHeader, body []byte) error {
	r.out = append(r.out, fmt.Sprintf("%d/%d/%v/%v/%d:%x", fh.Type, fh.Qos, fh.Dup, fh.Retain, fh.Remaining, body))
	return nil
}
func (r *recSink) malformed(err error) { r.err = err }
func (r *recSink) hold() bool          { return false }
func (r *recSink) limit() int          { return r.max }

// splits cuts data at the positions the seed bytes give.
func splits(data, seed []byte) [][]byte {
	var parts [][]byte
	i := 0
	for _, s := range seed {
		if i >= len(data) {
			break
		}
		n := int(s)%17 + 1
		n = min(n, len(data)-i)
		parts = append(parts, data[i:i+n])
		i += n
	}
	if i < len(data) {
		parts = append(parts, data[i:])
	}
	return parts
}

// FuzzFramer: the framer never panics, and fed whole or in random chunks it
// yields the same packets and the same verdict.
func FuzzFramer(f *testing.F) {
	f.Add(connectPacket(4, 30, "x"), []byte{1, 2, 3}, 0)
	f.Add(append(connectPacket(5, 0, "y"), 0xc0, 0, 0xe0, 0), []byte{0, 0, 0, 0, 5}, 100)
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, []byte{1}, 0)
	f.Add([]byte{0x30, 0x80, 0x00}, []byte{0}, 0)
	f.Add(append(appendRemaining([]byte{0x32}, 300), make([]byte, 300)...), []byte{200, 3, 9}, 200)
	f.Add([]byte{0xc1, 0}, []byte{}, 0)
	f.Fuzz(func(t *testing.T, data, seed []byte, max int) {
		if max < 0 || max > 1<<20 {
			max = 0
		}
		whole := recSink{max: max}
		var fw framer
		errW := fw.feed(data, &whole)
		split := recSink{max: max}
		var fs framer
		var errS error
		for _, p := range splits(data, seed) {
			if errS = fs.feed(p, &split); errS != nil {
				break
			}
		}
		if (errW == nil) != (errS == nil) || (whole.err == nil) != (split.err == nil) {
			t.Fatalf("verdicts differ: whole %v, split %v", errW, errS)
		}
		if len(whole.out) != len(split.out) {
			t.Fatalf("%d packets whole, %d split", len(whole.out), len(split.out))
		}
		for i := range whole.out {
			if whole.out[i] != split.out[i] {
				t.Fatalf("packet %d differs", i)
			}
		}
		if errW == nil && (fw.partial == nil) != (fs.partial == nil) {
			t.Fatal("partial state differs")
		}
	})
}

// recWS records what the WebSocket decoder produces.
type recWS struct {
	data []byte
	ctrl []string
}

func (r *recWS) control(op byte, p []byte) error {
	r.ctrl = append(r.ctrl, fmt.Sprintf("%d:%x@%d", op, p, len(r.data)))
	return nil
}

type recWSSink struct{ *recWS }

func (r recWSSink) data(p []byte) error {
	r.recWS.data = append(r.recWS.data, p...)
	return nil
}

// FuzzWSDecoder: the decoder never panics, and fed whole or in random chunks it
// yields the same message bytes, control frames (at the same stream offsets)
// and verdict.
func FuzzWSDecoder(f *testing.F) {
	f.Add(append(frame(false, wsBinary, []byte{1, 2, 3}), append(frame(true, wsPing, []byte("p")), frame(true, wsCont, []byte{4})...)...), []byte{1, 1, 1})
	f.Add(frame(true, wsBinary, make([]byte, 300)), []byte{7, 100})
	f.Add(frame(true, wsBinary, make([]byte, 70000)), []byte{3})
	f.Add(frame(true, wsText, []byte("t")), []byte{})
	f.Add([]byte{0x82, 0x02, 1, 2}, []byte{0})
	f.Add(frame(true, wsClose, []byte{3, 0xe8}), []byte{2})
	f.Fuzz(func(t *testing.T, data, seed []byte) {
		w := &recWS{}
		var dw wsDecoder
		errW := dw.decode(bytes.Clone(data), recWSSink{w})
		s := &recWS{}
		var ds wsDecoder
		var errS error
		for _, p := range splits(bytes.Clone(data), seed) {
			if errS = ds.decode(p, recWSSink{s}); errS != nil {
				break
			}
		}
		if (errW == nil) != (errS == nil) {
			t.Fatalf("verdicts differ: whole %v, split %v", errW, errS)
		}
		if !bytes.Equal(w.data, s.data) {
			t.Fatalf("data differs: %d vs %d bytes", len(w.data), len(s.data))
		}
		if fmt.Sprint(w.ctrl) != fmt.Sprint(s.ctrl) {
			t.Fatalf("control frames differ: %v vs %v", w.ctrl, s.ctrl)
		}
	})
}

// TestParseHeader pins the framer's header rules.
func TestParseHeader(t *testing.T) {
	cases := []struct {
		in    []byte
		max   int
		total int
		err   error
	}{
		{[]byte{0xc0, 0}, 0, 2, nil},
		{[]byte{0x30, 0x7f}, 0, 129, nil},
		{[]byte{0x30, 0x80, 0x01}, 0, 131, nil},
		{[]byte{0x30, 0xff, 0xff, 0xff, 0x7f}, 0, 5 + 268435455, nil},
		{[]byte{0x30}, 0, 0, errShort},
		{[]byte{0x30, 0x80}, 0, 0, errShort},
		{[]byte{0x30, 0x80, 0x80, 0x80, 0x80}, 0, 0, ErrMalformed},
		{[]byte{0x30, 0x80, 0x00}, 0, 0, ErrMalformed}, // not the shortest form
		{[]byte{0x30, 0x64}, 101, 102, ErrPacketTooLarge},
		{[]byte{0x30, 0x63}, 101, 101, nil},
		{[]byte{0x36, 0}, 0, 0, ErrMalformed}, // QoS 3
		{[]byte{0x82, 0}, 0, 2, nil},          // SUBSCRIBE flags 0010
		{[]byte{0x80, 0}, 0, 0, ErrMalformed}, // SUBSCRIBE flags 0000
	}
	for _, tc := range cases {
		_, _, total, err := parseHeader(tc.in, tc.max)
		if tc.err != nil {
			if err == nil || !errorsIs(err, tc.err) {
				t.Errorf("%x: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || total != tc.total {
			t.Errorf("%x: total %d err %v, want %d", tc.in, total, err, tc.total)
		}
	}
}

func errorsIs(err, target error) bool { return err == target || errors.Is(err, target) }
