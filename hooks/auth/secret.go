package auth

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

const redacted = "[REDACTED]"

// secret holds key material (the HS256 secret). Every way of printing it —
// fmt verbs, String, GoString, JSON, text, zerolog — yields "[REDACTED]";
// only reveal returns the bytes, for the verifier.
type secret struct {
	b []byte
}

func (s secret) reveal() []byte { return s.b }

// String implements fmt.Stringer; it redacts.
func (s secret) String() string { return redacted }

// GoString implements fmt.GoStringer; it redacts.
func (s secret) GoString() string { return redacted }

// Format implements fmt.Formatter so that no verb (%x, %+v, ...) prints the bytes.
func (s secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalText implements encoding.TextMarshaler; it redacts.
func (s secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalJSON implements json.Marshaler; it redacts.
func (s secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalZerologObject implements zerolog.LogObjectMarshaler; it logs only
// that a secret is set.
func (s secret) MarshalZerologObject(e *zerolog.Event) {
	e.Bool(logfield.Set, len(s.b) > 0).Str(logfield.Value, redacted)
}
