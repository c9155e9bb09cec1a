package im

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var mediaBodySeeds = []string{
	`{"url":"http://h/media/61/0?m=image%2Fpng&e=1&s=x","name":"a.png","size":10,"mime":"image/png","sha256":"` + strings.Repeat("a", 64) + `","width":1,"height":2}`,
	`{"url":"u","name":"n","size":1,"mime":"audio/ogg","sha256":"` + strings.Repeat("0", 64) + `","duration":1500}`,
	`{"url":"","name":"n","size":1}`, `{"size":-1}`, `{"width":1e9}`, `[]`, `"x"`, `{}{}`,
	`{"url":"u","name":"a\u0000b","size":1,"mime":"x/y","sha256":"` + strings.Repeat("f", 64) + `"}`,
}

// FuzzMediaBody: decodeMediaBody never panics; what it accepts re-encodes
// to JSON that decodes to the same body, with the fields' bounds kept.
func FuzzMediaBody(f *testing.F) {
	for _, typ := range []string{TypeImage, TypeFile, TypeAudio, TypeVideo} {
		for _, s := range mediaBodySeeds {
			f.Add(typ, s)
		}
	}
	f.Fuzz(func(t *testing.T, typ, in string) {
		m, err := decodeMediaBody(typ, in)
		if err != nil {
			if !errors.Is(err, ErrBadMedia) {
				t.Fatalf("error %v does not wrap ErrBadMedia", err)
			}
			return
		}
		if m.URL == "" || m.Size < 1 || len(m.SHA256) != 64 || m.Width < 0 || m.Duration < 0 {
			t.Fatalf("accepted out of bounds: %+v", m)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeMediaBody(typ, string(out))
		if err != nil || again != m {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", m, out, again, err)
		}
	})
}

func TestMediaPreviewHidesURL(t *testing.T) {
	body := `{"url":"http://h/media/61/0?s=secret","name":"cat.png","size":1,"mime":"image/png","sha256":"x"}`
	if got := mediaPreview(TypeImage, body); got != "[image] cat.png" {
		t.Fatalf("preview %q", got)
	}
	if got := mediaPreview(TypeText, "hi"); got != "hi" {
		t.Fatalf("text preview %q", got)
	}
}
