package imqtt

import (
	"testing"
	"time"
)

// FuzzDecoders feeds the envelope, ack and reply decoders valid and
// malformed payloads, whole and cut: none may panic, and what they accept
// holds the fields the Client relies on.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{
		`{"seq":42,"id":"8172663910400000","conv":"d:alice:bob","from":"alice","to":"bob","ts":1750000000000,"cid":"a1","type":"text","body":"hello"}`,
		`{"seq":7,"conv":"g:1","from":"carol","type":"notice","notice":{"event":"joined","user":"dave","by":"carol"}}`,
		`{"ok":true,"code":0,"cid":"a1","conv":"d:alice:bob","id":"1","seq":42,"ts":1,"dup":true}`,
		`{"ok":false,"code":135,"reason":"not a member: g:1","cid":"x9","topic":"im/send/group/1"}`,
		`{"method":"history","rid":"7","ok":true,"code":0,"messages":[]}`,
		`{"seq":-1}`, `null`, `[]`, `{"seq":"1"}`, `{"code":999}`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, b[:len(b)/2]} {
			if m, err := decodeEnvelope(in); err == nil && (m.Conv == "" || m.Seq < 1) {
				t.Fatalf("envelope accepted without conv/seq: %+v", m)
			}
			if a, err := decodeAck(in); err == nil && a.Err == nil && (a.Conv == "" || a.Seq < 1) {
				t.Fatalf("ok ack without conv/seq: %+v", a)
			}
			if r, err := decodeReply(in); err == nil {
				if e := r.err("m"); (e == nil) != r.OK {
					t.Fatalf("reply ok %v, err %v", r.OK, e)
				}
			}
		}
	})
}

// TestBackoff: waits stay within [0, min(max, min·2^(n-1))], and the first
// attempt after a drop does not wait.
func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	if d := backoff(0, lo, hi); d != 0 {
		t.Fatalf("attempt 0 waits %s", d)
	}
	for n := 1; n < 40; n++ {
		ceil := min(hi, lo<<min(n-1, 20))
		for range 50 {
			if d := backoff(n, lo, hi); d < 0 || d > ceil {
				t.Fatalf("attempt %d: %s outside [0, %s]", n, d, ceil)
			}
		}
	}
}
