package imqtt

import (
	"path/filepath"
	"testing"
)

// TestStores: both stores keep the outbox oldest first, cursors and meta;
// a FileStore reopened from its file has the same content.
func TestStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	fs, err := NewFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]Store{"memory": NewMemoryStore(), "file": fs} {
		t.Run(name, func(t *testing.T) {
			for _, e := range []OutboxEntry{{CID: "b", Created: 2}, {CID: "a", Created: 3}, {CID: "c", Created: 1, Payload: []byte(`{}`)}} {
				if err := s.PutOutbox(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DeleteOutbox("b"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteOutbox("missing"); err != nil {
				t.Fatal(err)
			}
			_ = s.SetCursor("d:a:b", 7)
			_ = s.Set("client_id", "x")
			check := func(s Store) {
				t.Helper()
				l, _ := s.ListOutbox()
				if len(l) != 2 || l[0].CID != "c" || l[1].CID != "a" || string(l[0].Payload) != `{}` {
					t.Fatalf("outbox %+v", l)
				}
				if c, _ := s.Cursors(); c["d:a:b"] != 7 {
					t.Fatalf("cursors %v", c)
				}
				if v, _ := s.Get("client_id"); v != "x" {
					t.Fatalf("meta %q", v)
				}
			}
			check(s)
			if name == "file" {
				again, err := NewFileStore(path)
				if err != nil {
					t.Fatal(err)
				}
				check(again)
			}
		})
	}
}
