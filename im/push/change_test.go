package push

import (
	"encoding/json"
	"testing"
)

// TestEditAndRecallEvents: an edit or recall is posted with its kind as the
// event and the changed message's seq as target; a message has no target.
func TestEditAndRecallEvents(t *testing.T) {
	s := newServer(t, 204)
	d := newDispatcher(t, s.URL, nil)
	edit, recall := ev, ev
	edit.Kind, edit.Target, edit.Seq = "edit", 7, 8
	recall.Kind, recall.Target, recall.Seq, recall.Preview = "recall", 7, 9, ""
	for _, e := range []Event{ev, edit, recall} {
		if !d.Enqueue(e) {
			t.Fatal("enqueue refused")
		}
	}
	waitFor(t, "three requests", func() bool { return s.count() == 3 })
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[float64]map[string]any{}
	for _, h := range s.hits {
		var w map[string]any
		if err := json.Unmarshal(h.body, &w); err != nil {
			t.Fatal(err)
		}
		got[w["seq"].(float64)] = w
	}
	if w := got[7]; w["event"] != "message" || w["target"] != nil {
		t.Fatalf("message %v", w)
	}
	if w := got[8]; w["event"] != "edit" || w["target"] != float64(7) || w["preview"] != "hi" {
		t.Fatalf("edit %v", w)
	}
	if w := got[9]; w["event"] != "recall" || w["target"] != float64(7) || w["preview"] != "" {
		t.Fatalf("recall %v", w)
	}
}
