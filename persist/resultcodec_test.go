package persist

import (
	"errors"
	"reflect"
	"testing"
)

func TestResultCodecRoundTrip(t *testing.T) {
	m := &StateMachine{}
	cases := []any{
		[]Result{},
		[]Result{{Seq: 1}, {Seq: 1 << 40, Found: true, Count: 3}, {Resumed: true}, {Err: ErrInvalidOp},
			{Err: ErrConflict}, {Err: ErrQuotaExceeded}},
	}
	for _, c := range cases {
		b, err := m.EncodeResult(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.DecodeResult(b)
		if err != nil {
			t.Fatal(err)
		}
		want := c.([]Result)
		gr := got.([]Result)
		if len(gr) != len(want) {
			t.Fatalf("got %v want %v", gr, want)
		}
		for i := range want {
			if !errors.Is(gr[i].Err, want[i].Err) || (want[i].Err == nil) != (gr[i].Err == nil) {
				t.Fatalf("err %d: got %v want %v", i, gr[i].Err, want[i].Err)
			}
			gr[i].Err, want[i].Err = nil, nil
		}
		if !reflect.DeepEqual(gr, want) {
			t.Fatalf("got %#v want %#v", gr, want)
		}
	}
	for _, e := range []error{ErrDiskFull, ErrCorruptRecord, errors.New("other")} {
		b, err := m.EncodeResult(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.DecodeResult(b)
		if err != nil {
			t.Fatal(err)
		}
		ge, ok := got.(error)
		if !ok || (e != ErrDiskFull && e != ErrCorruptRecord && ge.Error() != e.Error()) || (e == ErrDiskFull && !errors.Is(ge, ErrDiskFull)) {
			t.Fatalf("error %v decoded as %#v", e, got)
		}
	}
}

func FuzzDecodeResult(f *testing.F) {
	m := &StateMachine{}
	for _, c := range []any{[]Result{{Seq: 5, Found: true, Err: ErrInvalidOp}}, ErrDiskFull} {
		b, _ := m.EncodeResult(c)
		f.Add(b)
	}
	f.Add([]byte{'R', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := m.DecodeResult(b)
		if err != nil {
			return
		}
		b2, err := m.EncodeResult(v)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", v, err)
		}
		if _, err := m.DecodeResult(b2); err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
	})
}
