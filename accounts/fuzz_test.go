package accounts

import (
	"bytes"
	"testing"

	"github.com/imqtt/imqtt/persist"
)

// FuzzDecodeRecord: any bytes either fail with ErrCorruptRecord or decode to a
// record that re-encodes and decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"name":"alice","hash":"$2a$04$abc","state":"active","roles":["admin"],"created":1,"updated":2}`))
	f.Add([]byte(`{"v":1,"name":"bob","state":"disabled","created":1,"updated":1}`))
	f.Add([]byte(`{"v":2,"name":"bob","state":"active"}`))
	f.Add([]byte(`{"v":1,"name":"a+b","state":"active"}`))
	f.Add([]byte(`{"v":1,"name":"a","state":"active","x":1}`))
	f.Add([]byte(`{"v":1,"name":"a","state":"active"} {}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		enc, err := r.encode()
		if err != nil {
			t.Fatalf("encode decoded record: %v", err)
		}
		r2, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		enc2, _ := r2.encode()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip differs: %s vs %s", enc, enc2)
		}
		_ = r.user()
		// Changes never panics on a put of these bytes.
		Changes([][]persist.Op{{persist.PutRawOp(userKey("x"), b, 0)}}, nil)
	})
}

// FuzzValidateName: no panic; an accepted name has a valid key.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"alice", "", "a/b", "a+b", "\x00", " a", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateName(s) == nil && !persist.IsRawKey(userKey(s)) {
			t.Fatalf("valid name %q makes an invalid raw key", s)
		}
	})
}
