package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestSecretRedacts(t *testing.T) {
	const key = "super-secret-hmac-key-0123456789abcdef"
	s := secret{b: []byte(key)}
	holder := struct{ Key secret }{s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	outs = append(outs, s.String())
	j, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))

	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("k", s).Interface("i", s).Stringer("s", s).Interface("h", holder).Msg("x")
	v := &jwtVerifier{algs: []string{"HS256"}, hmac: s}
	log.Info().Object("jwt", v).Msg("y")
	outs = append(outs, buf.String())

	for _, o := range outs {
		if strings.Contains(o, key) || strings.Contains(o, fmt.Sprintf("%x", key)) || strings.Contains(o, "super") {
			t.Fatalf("secret leaked: %s", o)
		}
	}
	if !strings.Contains(buf.String(), redacted) {
		t.Fatalf("log does not say redacted: %s", buf.String())
	}
	if string(s.reveal()) != key {
		t.Fatal("reveal lost the key")
	}
}
