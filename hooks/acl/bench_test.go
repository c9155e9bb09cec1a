package acl

import (
	"fmt"
	"testing"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/rs/zerolog"
)

// benchRules builds n rule lines: per-user sections over distinct first levels,
// wildcard-first rules (scanned on every check), denials and placeholder
// patterns. The checked user "u0" holds a seventh of them.
func benchRules(n int) []string {
	lines := []string{
		"pattern readwrite users/%u/#",
		"pattern read clients/%c/+",
		"pattern deny users/%u/locked",
	}
	for i := 0; len(lines) < n; i++ {
		lines = append(lines, fmt.Sprintf("user u%d", i%7)) // u0 gets every kind of rule
		switch i % 5 {
		case 0:
			lines = append(lines, fmt.Sprintf("topic readwrite site%d/+/temp", i))
		case 1:
			lines = append(lines, fmt.Sprintf("topic read site%d/#", i))
		case 2:
			lines = append(lines, fmt.Sprintf("topic deny site%d/secret/#", i-1))
		case 3:
			lines = append(lines, fmt.Sprintf("topic write +/dev%d/status", i))
		default:
			lines = append(lines, fmt.Sprintf("topic subscribe fleet%d/#", i))
		}
	}
	return lines[:n]
}

func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10, 1000} {
		r, err := Compile(Config{Rules: benchRules(n), SysRead: SysReadRules})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name   string
			topic  string
			access Access
		}{
			{"write-hit", "site0/a/temp", AccessWrite},
			{"read-hit", "site1/a/b/c", AccessRead},
			{"read-deny-rule", "site1/secret/x", AccessRead},
			{"write-wildcard-rule", "x/dev3/status", AccessWrite},
			{"write-miss", "nowhere/x/y", AccessWrite},
			{"read-placeholder", "users/u0/inbox", AccessRead},
			{"subscribe-filter", "site1/+/b/#", AccessSubscribe},
			{"sys-read", "$SYS/broker/uptime", AccessRead},
		} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r.Check("u0", "client-0", c.topic, c.access)
				}
			})
		}
	}
}

// BenchmarkAllow measures the hook entry point as the engine calls it for a
// delivery and a publish.
func BenchmarkAllow(b *testing.B) {
	h, err := New(Config{Rules: benchRules(1000), SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap}, zerolog.Nop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	cl := &ext.Client{ID: "client-0", Username: "u0"}
	for _, c := range []struct {
		name   string
		topic  string
		access ext.Access
	}{
		{"delivery", "site1/a/b", ext.AccessDeliver},
		{"delivery-denied", "site1/secret/b", ext.AccessDeliver},
		{"publish", "site0/a/temp", ext.AccessPublish},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.Allow(cl, c.topic, c.access)
			}
		})
	}
}

// TestCheckDoesNotAllocate pins the hot path: no allocation per check, with or
// without placeholders, allowed or denied (logging disabled).
func TestCheckDoesNotAllocate(t *testing.T) {
	h, err := New(Config{Rules: benchRules(200), SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := &ext.Client{ID: "client-0", Username: "u0"}
	for _, c := range []struct {
		topic  string
		access ext.Access
	}{
		{"site0/a/temp", ext.AccessPublish}, {"site1/a/b", ext.AccessDeliver}, {"site1/secret/x", ext.AccessDeliver},
		{"users/u0/inbox", ext.AccessDeliver}, {"users/u0/locked", ext.AccessPublish}, {"nowhere", ext.AccessPublish},
		{"site1/+/b", ext.AccessSubscribe}, {"$share/g/site1/x", ext.AccessSubscribe}, {"$SYS/x", ext.AccessDeliver},
	} {
		if n := testing.AllocsPerRun(100, func() { h.Allow(cl, c.topic, c.access) }); n != 0 {
			t.Errorf("Allow(%q, %v): %.1f allocations", c.topic, c.access, n)
		}
	}
}
