package acl

import (
	"fmt"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
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

// BenchmarkOnACLCheck measures the hook entry point as mochi calls it for a
// delivery and a publish, with another client's SUBSCRIBE in progress.
func BenchmarkOnACLCheck(b *testing.B) {
	h, err := New(Config{Rules: benchRules(1000), SysRead: SysReadRules, SubscribeDeny: SubscribeDenyOverlap}, zerolog.Nop(), nil)
	if err != nil {
		b.Fatal(err)
	}
	cl := &mqtt.Client{ID: "client-0"}
	cl.Properties.Username = []byte("u0")
	other := &mqtt.Client{ID: "client-1"}
	h.pending.open(other, []string{"site1/a"})
	for _, c := range []struct {
		name  string
		topic string
		write bool
	}{
		{"delivery", "site1/a/b", false},
		{"delivery-denied", "site1/secret/b", false},
		{"publish", "site0/a/temp", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.OnACLCheck(cl, c.topic, c.write)
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
	cl := &mqtt.Client{ID: "client-0"}
	cl.Properties.Username = []byte("u0")
	for _, c := range []struct {
		topic string
		write bool
	}{
		{"site0/a/temp", true}, {"site1/a/b", false}, {"site1/secret/x", false},
		{"users/u0/inbox", false}, {"users/u0/locked", true}, {"nowhere", true},
		{"site1/+/b", false}, {"$share/g/site1/x", false}, {"$SYS/x", false},
	} {
		if n := testing.AllocsPerRun(100, func() { h.OnACLCheck(cl, c.topic, c.write) }); n != 0 {
			t.Errorf("OnACLCheck(%q, write=%v): %.1f allocations", c.topic, c.write, n)
		}
	}
}
