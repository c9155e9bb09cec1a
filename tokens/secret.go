package tokens

import "fmt"

const redacted = "[REDACTED]"

// secret holds the signing key; every way of printing it redacts.
type secret struct{ b []byte }

func (s secret) String() string               { return redacted }
func (s secret) GoString() string             { return redacted }
func (s secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (s secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
