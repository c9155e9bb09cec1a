package push

import (
	"encoding/json"
	"testing"
)

// TestMentionField: a mention event carries "mention":true; others omit it.
func TestMentionField(t *testing.T) {
	s := newServer(t, 204)
	d := newDispatcher(t, s.URL, nil)
	m := ev
	m.Mention, m.ID = true, ev.ID+1
	d.Enqueue(ev)
	d.Enqueue(m)
	waitFor(t, "two requests", func() bool { return s.count() == 2 })
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[string]any{}
	for _, h := range s.hits {
		var w map[string]any
		if err := json.Unmarshal(h.body, &w); err != nil {
			t.Fatal(err)
		}
		got[w["id"].(string)] = w["mention"]
	}
	if got["123456789012345"] != nil || got["123456789012346"] != true {
		t.Fatalf("mention fields %v", got)
	}
}
