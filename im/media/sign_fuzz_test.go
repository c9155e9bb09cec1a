package media

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseSigned: ParseSigned never panics; an accepted request names a key
// of the server's layout (hex only: no path can leave the store) and its
// re-signed form parses back to the same fields.
func FuzzParseSigned(f *testing.F) {
	secret := []byte("fuzz-secret-0123456789")
	key := "616c696365/" + strings.Repeat("ab", 24)
	put := Signed{Method: http.MethodPut, Key: key, MIME: "image/png", Size: 10, SHA256: strings.Repeat("c", 64), Exp: 1 << 40}
	get := Signed{Method: http.MethodGet, Key: key, MIME: "image/png", Exp: 1 << 40}
	for _, s := range []*Signed{&put, &get} {
		p, q, _ := strings.Cut(s.pathAndQuery(secret), "?")
		f.Add(s.Method, p, q)
	}
	f.Add("GET", "/media/../../etc/passwd", "m=a%2Fb&e=1&s=x")
	f.Add("GET", "/media/%2e%2e/x", "")
	f.Add("PUT", "/media/61/"+strings.Repeat("0", 48), "m=a/b&n=1&h=x&e=1&s="+strings.Repeat("A", 43)+"&s=B")
	f.Add("DELETE", "/media/x", "")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		s, err := ParseSigned(method, path, query)
		if err != nil {
			return
		}
		owner, id, err := parseKey(s.Key)
		if err != nil || strings.ContainsAny(owner+id, "./\\%") {
			t.Fatalf("accepted key %q", s.Key)
		}
		if s.Verify(secret, time.Unix(0, 0)) == nil && s.Sig != s.mac(secret) {
			t.Fatal("verified a wrong signature")
		}
		p, q, _ := strings.Cut(s.pathAndQuery(secret), "?")
		again, err := ParseSigned(s.Method, p, q)
		if err != nil || again != s {
			t.Fatalf("round trip %+v -> %s?%s -> %+v, %v", s, p, q, again, err)
		}
	})
}
