package im

import (
	"fmt"
	"testing"
)

func TestHistoryPaging(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.HistoryMax = 10 })
	for i := 1; i <= 25; i++ {
		h.send("alice", "bob", fmt.Sprint(i), fmt.Sprint("m", i))
	}
	const conv = "d:alice:bob"
	page := func(params map[string]any) ([]uint64, bool) {
		t.Helper()
		params["conv"] = conv
		m := h.rpc("bob", MethodHistory, params, CodeSuccess)
		if m["last_seq"].(float64) != 25 || m["conv"] != conv {
			t.Fatalf("history head %v", m)
		}
		return seqs(msgsOf(t, m["messages"])), m["more"].(bool)
	}
	rng := func(a, b uint64) []uint64 {
		var out []uint64
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
		return out
	}
	eq := func(got, want []uint64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	cases := []struct {
		name   string
		params map[string]any
		want   []uint64
		more   bool
	}{
		{"newest", map[string]any{}, rng(16, 25), true},
		{"newest limit", map[string]any{"limit": 3}, rng(23, 25), true},
		{"limit capped", map[string]any{"limit": 1000}, rng(16, 25), true},
		{"before", map[string]any{"before": 16}, rng(6, 15), true},
		{"before first page", map[string]any{"before": 6}, rng(1, 5), false},
		{"before 1", map[string]any{"before": 1}, nil, false},
		{"after", map[string]any{"after": 5}, rng(6, 15), true},
		{"after to the end", map[string]any{"after": 15}, rng(16, 25), false},
		{"after the end", map[string]any{"after": 25}, nil, false},
		{"after 0 is newest", map[string]any{"after": 0, "limit": 2}, rng(24, 25), true},
		{"between", map[string]any{"after": 10, "before": 14}, rng(11, 13), false},
		{"between paged", map[string]any{"after": 10, "before": 20, "limit": 4}, rng(11, 14), true},
		{"empty range", map[string]any{"after": 10, "before": 11}, nil, false},
		{"after max", map[string]any{"after": uint64(1<<64 - 1)}, nil, false},
		{"before max", map[string]any{"before": uint64(1<<64 - 1), "limit": 2}, rng(24, 25), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, more := page(tc.params)
			if !eq(got, tc.want) || more != tc.more {
				t.Fatalf("got %v more %v, want %v more %v", got, more, tc.want, tc.more)
			}
		})
	}
	// Walking back with before reaches every message once.
	var all []uint64
	before := uint64(0)
	for {
		p := map[string]any{"limit": 7}
		if before > 0 {
			p["before"] = before
		}
		got, more := page(p)
		all = append(got, all...)
		if !more {
			break
		}
		before = got[0]
	}
	if !eq(all, rng(1, 25)) {
		t.Fatalf("walk back %v", all)
	}
	h.rpc("bob", MethodHistory, map[string]any{"conv": "d:bob:alice"}, CodePayloadFormat)
	h.rpc("bob", MethodHistory, map[string]any{"conv": conv, "limit": -1}, CodePayloadFormat)
	h.rpc("carol", MethodHistory, map[string]any{"conv": conv}, CodeNotAuthorized)
}

// TestSync100: 100 messages over three conversations come back in pages, in
// order, without duplicates or gaps; a second device starting from a position
// gets only what is after it.
func TestSync100(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *Options) { c.SyncPageMax = 30 })
	g := h.rpc("carol", MethodGroupCreate, map[string]any{"name": "G", "users": []string{"bob"}}, CodeSuccess)["group"].(string)
	want := map[string]uint64{}
	total := 0
	for i := 0; i < 100; i++ {
		switch i % 3 {
		case 0:
			want["d:alice:bob"] = h.send("alice", "bob", fmt.Sprint(i), fmt.Sprint(i)).Seq
		case 1:
			want["d:bob:dave"] = h.send("dave", "bob", fmt.Sprint(i), fmt.Sprint(i)).Seq
		default:
			want["g:"+g] = h.sendGroup("carol", g, fmt.Sprint(i), fmt.Sprint(i)).Seq
		}
		total++
	}
	total++ // the group's created notice
	since := map[string]any{}
	seen := map[string]uint64{}
	got, pages := 0, 0
	for {
		m := h.rpc("bob", MethodSync, map[string]any{"since": since}, CodeSuccess)
		pages++
		msgs := msgsOf(t, m["messages"])
		if len(msgs) > 30 {
			t.Fatalf("page of %d", len(msgs))
		}
		for _, e := range msgs {
			if e.Seq != seen[e.Conv]+1 {
				t.Fatalf("page %d: %s seq %d after %d", pages, e.Conv, e.Seq, seen[e.Conv])
			}
			seen[e.Conv] = e.Seq
			got++
		}
		since = m["since"].(map[string]any)
		if m["more"] != true {
			break
		}
		if pages > 10 {
			t.Fatal("sync does not end")
		}
	}
	if got != total || pages != 4 {
		t.Fatalf("synced %d of %d in %d pages", got, total, pages)
	}
	for c, s := range want {
		if seen[c] != s || uint64(since[c].(float64)) != s {
			t.Fatalf("%s: seen %d since %v, want %d", c, seen[c], since[c], s)
		}
	}
	// Nothing new: an empty page, same positions.
	m := h.rpc("bob", MethodSync, map[string]any{"since": since}, CodeSuccess)
	if len(m["messages"].([]any)) != 0 || m["more"] != false {
		t.Fatalf("second sync %v", m)
	}
	// A device that saw up to 30 in d:alice:bob and nothing else.
	m = h.rpc("bob", MethodSync, map[string]any{"since": map[string]any{"d:alice:bob": 30}, "limit": 1000}, CodeSuccess)
	msgs := msgsOf(t, m["messages"])
	if len(msgs) != 30 || msgs[0].Conv != "d:alice:bob" || msgs[0].Seq != 31 || m["more"] != true {
		t.Fatalf("partial sync: %d messages, first %+v, more %v", len(msgs), msgs[0], m["more"])
	}
	// Positions beyond the end (or at the top of uint64) give nothing.
	m = h.rpc("bob", MethodSync, map[string]any{"since": map[string]any{"d:alice:bob": uint64(1<<64 - 1), "d:bob:dave": 1000, "g:" + g: 1000}}, CodeSuccess)
	if len(m["messages"].([]any)) != 0 || m["more"] != false {
		t.Fatalf("sync past the end: %v", m)
	}
	// A user who is in nothing gets nothing.
	m = h.rpc("erin", MethodSync, map[string]any{}, CodeSuccess)
	if len(m["messages"].([]any)) != 0 || m["more"] != false {
		t.Fatalf("erin %v", m)
	}
}
