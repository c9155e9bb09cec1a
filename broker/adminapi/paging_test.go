package adminapi

import (
	"errors"
	"net/url"
	"testing"
)

func TestParsePage(t *testing.T) {
	tests := []struct {
		query string
		want  page
		ok    bool
	}{
		{"", page{Limit: DefaultLimit}, true},
		{"limit=1", page{Limit: 1}, true},
		{"limit=1000", page{Limit: 1000}, true},
		{"cursor=" + encodeCursor("c1"), page{Limit: DefaultLimit, After: "c1"}, true},
		{"limit=5&cursor=" + encodeCursor("a\x00b"), page{Limit: 5, After: "a\x00b"}, true},
		{"limit=0", page{}, false},
		{"limit=-1", page{}, false},
		{"limit=1001", page{}, false},
		{"limit=ten", page{}, false},
		{"limit=1.5", page{}, false},
		{"cursor=!!", page{}, false},
		{"cursor=YQ==", page{}, false}, // padded: not ours
	}
	for _, tc := range tests {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parsePage(q)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidPaging)) {
			t.Errorf("parsePage(%q) error %v, want ok=%v", tc.query, err, tc.ok)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("parsePage(%q) = %+v, want %+v", tc.query, got, tc.want)
		}
	}
}

func TestPager(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e"}
	var all []string
	after := ""
	for i := 0; i < 10; i++ {
		g := newPager[string](page{Limit: 2, After: after})
		for _, k := range keys {
			if g.skip(k) {
				continue
			}
			if !g.add(k, k) {
				break
			}
		}
		res := g.result()
		all = append(all, res.Items...)
		if res.NextCursor == "" {
			break
		}
		var err error
		if after, err = decodeCursor(res.NextCursor); err != nil {
			t.Fatal(err)
		}
	}
	if len(all) != len(keys) {
		t.Fatalf("paged %v, want %v", all, keys)
	}
	for i := range keys {
		if all[i] != keys[i] {
			t.Fatalf("paged %v, want %v", all, keys)
		}
	}
	// A page that ends exactly at the last item has no next cursor.
	g := newPager[string](page{Limit: 5})
	for _, k := range keys {
		g.add(k, k)
	}
	if g.result().NextCursor != "" {
		t.Fatal("next cursor after the last item")
	}
}

func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{encodeCursor("client-1"), encodeCursor("a\x00b/c"), "", "!!", "YQ==", "____"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, err := decodeCursor(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPaging) {
				t.Fatalf("decodeCursor(%q) = %v, not ErrInvalidPaging", s, err)
			}
			return
		}
		if key == "" {
			t.Fatalf("decodeCursor(%q) accepted an empty key", s)
		}
		if again, err := decodeCursor(encodeCursor(key)); err != nil || again != key {
			t.Fatalf("round trip of %q: %q, %v", key, again, err)
		}
	})
}
