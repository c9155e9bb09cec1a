package persist

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTTL(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	now := time.Now()
	soon := now.Add(1500 * time.Millisecond).UnixMilli()
	later := now.Add(time.Hour).UnixMilli()
	m1 := msg("t", "expires")
	m1.Expiry = soon
	m2 := msg("t", "stays")
	m2.Expiry = later
	r1 := msg("r/soon", "x")
	r1.Expiry = soon
	mustApply(t, s, 1, []Op{
		EnqueueOp("c", m1), EnqueueOp("c", m2), EnqueueOp("c", msg("t", "forever")),
		PutRetainedOp(r1), PutRetainedOp(msg("r/forever", "y")),
		PutRawOp([]byte("x/soon"), []byte("v"), soon),
	})
	// Readers filter by the now they are given, before Badger's TTL passes.
	q, _ := s.Queue("c", 0, 0, time.UnixMilli(soon))
	if len(q) != 2 || string(q[0].Message.Payload) != "stays" {
		t.Fatalf("filtered queue %+v", q)
	}
	if _, err := s.Retained("r/soon", time.UnixMilli(soon)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired retained by now: %v", err)
	}
	var topics []string
	_ = s.EachRetained(time.UnixMilli(soon), func(m Message) error { topics = append(topics, m.Topic); return nil })
	if len(topics) != 1 || topics[0] != "r/forever" {
		t.Fatalf("EachRetained %v", topics)
	}
	// Badger's TTL removes the entries themselves (to the second).
	waitFor(t, 10*time.Second, "badger ttl", func() bool {
		q, _ := s.Queue("c", 0, 0, time.Time{})
		n, _, _ := s.QueueLen("c")
		_, rerr := s.Retained("r/soon", time.Time{})
		_, gerr := s.GetRaw([]byte("x/soon"))
		return len(q) == 2 && n == 2 && errors.Is(rerr, ErrNotFound) && errors.Is(gerr, ErrNotFound)
	})
	// Keys with a TTL do not decide what Apply writes: IfAbsent on one writes.
	mustApply(t, s, 2, []Op{PutRawOp([]byte("x/ttl"), []byte("old"), later)})
	res := mustApply(t, s, 3, []Op{PutRawIfAbsentOp([]byte("x/ttl"), []byte("new"), 0)})
	if v, _ := s.GetRaw([]byte("x/ttl")); res[0][0].Found || string(v) != "new" {
		t.Fatalf("IfAbsent over a TTL key: %+v %q", res[0][0], v)
	}
	res = mustApply(t, s, 4, []Op{PutRawIfAbsentOp([]byte("x/ttl"), []byte("newer"), 0)})
	if v, _ := s.GetRaw([]byte("x/ttl")); !res[0][0].Found || string(v) != "new" {
		t.Fatalf("IfAbsent over a key without TTL: %+v %q", res[0][0], v)
	}
}

func TestExpiredSessions(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	base := int64(1_700_000_000_000)
	mk := func(c string, disc int64, exp uint32) Session {
		x := sess(c)
		x.DisconnectedAt, x.SessionExpiry = disc, exp
		return x
	}
	mustApply(t, s, 1, []Op{
		PutSessionOp(mk("connected", 0, 10)),
		PutSessionOp(mk("never", base, NeverExpires)),
		PutSessionOp(mk("zero", base, 0)),
		PutSessionOp(mk("ten", base, 10)),
		PutSessionOp(mk("hundred", base, 100)),
	})
	at := func(ms int64) []string {
		ids, err := s.ExpiredSessions(time.UnixMilli(ms))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := at(base - 1); len(got) != 0 {
		t.Fatalf("before: %v", got)
	}
	if got := at(base + 10_000); !reflect.DeepEqual(got, []string{"zero", "ten"}) {
		t.Fatalf("at +10s: %v", got)
	}
	// Reconnecting (DisconnectedAt 0) and changing the expiry move the index entry.
	mustApply(t, s, 2, []Op{PutSessionOp(mk("ten", 0, 10)), PutSessionOp(mk("hundred", base, 5))})
	if got := at(base + 10_000); !reflect.DeepEqual(got, []string{"zero", "hundred"}) {
		t.Fatalf("after update: %v", got)
	}
	mustApply(t, s, 3, []Op{DeleteSessionOp("zero")})
	if got := at(base + 1_000_000); !reflect.DeepEqual(got, []string{"hundred"}) {
		t.Fatalf("after delete: %v", got)
	}
}

func TestScanRaw(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	var ops []Op
	for i := 0; i < 10; i++ {
		ops = append(ops, PutRawOp([]byte(fmt.Sprintf("x/conv/%02d", i)), []byte{byte(i)}, 0))
	}
	ops = append(ops, PutRawOp([]byte("x/conw"), []byte("next"), 0), PutRawOp([]byte("x/con"), []byte("before"), 0),
		PutRawOp([]byte("y/conv/00"), []byte("other"), 0))
	mustApply(t, s, 1, ops)
	scan := func(prefix string, o ScanOptions) []string {
		var keys []string
		err := s.ScanRaw([]byte(prefix), o, func(k, v []byte) error {
			keys = append(keys, string(k[len(prefix):]))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(strings.Join(keys, " "))
	}
	eq := func(got []string, want string) {
		t.Helper()
		if strings.Join(got, " ") != want {
			t.Fatalf("got %q want %q", strings.Join(got, " "), want)
		}
	}
	eq(scan("x/conv/", ScanOptions{}), "00 01 02 03 04 05 06 07 08 09")
	eq(scan("x/conv/", ScanOptions{Limit: 3}), "00 01 02")
	eq(scan("x/conv/", ScanOptions{Start: []byte("x/conv/05")}), "05 06 07 08 09")
	eq(scan("x/conv/", ScanOptions{Reverse: true}), "09 08 07 06 05 04 03 02 01 00")
	eq(scan("x/conv/", ScanOptions{Reverse: true, Limit: 2}), "09 08")
	eq(scan("x/conv/", ScanOptions{Reverse: true, Start: []byte("x/conv/04")}), "04 03 02 01 00")
	n := 0
	err := s.ScanRaw([]byte("x/"), ScanOptions{}, func(k, v []byte) error {
		n++
		if n == 2 {
			return ErrStopScan
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("stop scan: %d %v", n, err)
	}
	wantErr(t, s.ScanRaw([]byte("s/"), ScanOptions{}, nil), ErrInvalidOp)
}
