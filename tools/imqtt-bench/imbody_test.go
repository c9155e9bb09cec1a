package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestIMBodyRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		size   int
		sentNS int64
		pub    uint32
		seq    uint64
	}{
		{imBodyHeaderLen, 0, 0, 0},
		{64, 123456789, 7, 42},
		{1000, math.MaxInt64, math.MaxUint32, math.MaxUint64},
		{maxIMBody, -1, 1, 1},
	} {
		b := appendIMBody(nil, tc.size, tc.sentNS, tc.pub, tc.seq)
		if len(b) != tc.size {
			t.Errorf("size %d: body of %d bytes", tc.size, len(b))
		}
		sentNS, pub, seq, ok := decodeIMBody(b)
		if !ok || sentNS != tc.sentNS || pub != tc.pub || seq != tc.seq {
			t.Errorf("round trip %+v: got %d %d %d %v", tc, sentNS, pub, seq, ok)
		}
	}
	// The send payload is the JSON the protocol asks for, and decodes back.
	p := appendSendPayload(nil, "0a1b2c3d", 64, 99, 3, 17)
	var req struct{ CID, Body string }
	if err := json.Unmarshal(p, &req); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if req.CID != "0a1b2c3d.3.17" || len(req.Body) != 64 {
		t.Errorf("payload %s", p)
	}
	if sentNS, pub, seq, ok := decodeIMBody([]byte(req.Body)); !ok || sentNS != 99 || pub != 3 || seq != 17 {
		t.Errorf("body %q: %d %d %d %v", req.Body, sentNS, pub, seq, ok)
	}
}

func TestDecodeIMBodyRejects(t *testing.T) {
	good := string(appendIMBody(nil, imBodyHeaderLen, 0xabcdef, 0xfa, 7))
	for _, bad := range []string{
		"", "hello", good[:imBodyHeaderLen-1],
		strings.ToUpper(good),             // upper-case hex is not what the tool writes
		"g" + good[1:],                    // not hex
		good[:10] + " " + good[11:],       // a space inside
		strings.Repeat("\u00e9", 20) + "", // 40 bytes of UTF-8, not hex
	} {
		if _, _, _, ok := decodeIMBody([]byte(bad)); ok {
			t.Errorf("decodeIMBody(%q) ok", bad)
		}
	}
}

func TestCID(t *testing.T) {
	const run = "deadbeef"
	for _, tc := range []struct {
		pub uint32
		seq uint64
	}{{0, 0}, {1, 2}, {math.MaxUint32, math.MaxUint64}} {
		cid := appendCID(nil, run, tc.pub, tc.seq)
		pub, seq, ok := parseCID(cid, run)
		if !ok || pub != tc.pub || seq != tc.seq {
			t.Errorf("parseCID(%q) = %d %d %v", cid, pub, seq, ok)
		}
	}
	for _, bad := range []string{
		"", "deadbeef", "deadbeef.", "deadbeef.1", "deadbeef.1.", "deadbeef..1", "deadbeef.1.2.3",
		"deadbeee.1.2", "deadbeef.01.2", "deadbeef.1.02", "deadbeef.-1.2", "deadbeef.4294967296.1",
		"deadbeef.1.18446744073709551616", "deadbeef.1.2 ", "xdeadbeef.1.2", "m-0001",
	} {
		if pub, seq, ok := parseCID([]byte(bad), run); ok {
			t.Errorf("parseCID(%q) = %d %d, want refused", bad, pub, seq)
		}
	}
}

func TestParseIMDown(t *testing.T) {
	body := string(appendIMBody(nil, 48, 1, 2, 3))
	for _, tc := range []struct {
		name, in string
		want     imDown
		err      bool
	}{
		{"envelope", `{"seq":42,"id":"8172663910400000","conv":"d:b0r:b0s","from":"b0s","to":"b0r","ts":1750000000000,"cid":"r.0.1","type":"text","body":"` + body + `"}`,
			imDown{cid: []byte("r.0.1"), body: []byte(body)}, false},
		{"ack ok", `{"ok":true,"code":0,"cid":"a1","conv":"d:a:b","id":"1","seq":1,"ts":1}`, imDown{cid: []byte("a1"), ok: true}, false},
		{"refusal", `{"ok":false,"code":150,"reason":"rate limited","cid":"x9","topic":"im/send/user/b"}`,
			imDown{cid: []byte("x9"), reason: []byte("rate limited"), code: 150}, false},
		{"notice", `{"seq":7,"conv":"g:1","from":"c","type":"notice","notice":{"event":"joined","user":"d","users":["a","b"],"cid":"inner"}}`, imDown{}, false},
		{"escapes and spaces", " {\n\"cid\" : \"a\\\"b\\u00e9\" , \"body\":\"x\\\\\"}\t", imDown{cid: []byte("a\"b\u00e9"), body: []byte(`x\`)}, false},
		{"empty object", `{}`, imDown{}, false},
		{"not an object", `[1]`, imDown{}, true},
		{"ok not bool", `{"ok":"yes"}`, imDown{}, true},
		{"code not int", `{"code":"150"}`, imDown{}, true},
		{"cid not string", `{"cid":5}`, imDown{}, true},
		{"truncated", `{"cid":"abc`, imDown{}, true},
		{"trailing", `{"cid":"a"} x`, imDown{}, true},
		{"missing colon", `{"cid" "a"}`, imDown{}, true},
		{"control char", "{\"cid\":\"a\nb\"}", imDown{}, true},
	} {
		got, err := parseIMDown([]byte(tc.in))
		if tc.err {
			if !errors.Is(err, ErrJSON) {
				t.Errorf("%s: err = %v, want ErrJSON", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !bytes.Equal(got.cid, tc.want.cid) || !bytes.Equal(got.body, tc.want.body) || !bytes.Equal(got.reason, tc.want.reason) ||
			got.ok != tc.want.ok || got.code != tc.want.code {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// FuzzDecodeIMBody: never panics; what decodes re-encodes to the same header.
func FuzzDecodeIMBody(f *testing.F) {
	f.Add(appendIMBody(nil, 64, 1, 2, 3))
	f.Add(appendIMBody(nil, imBodyHeaderLen, math.MaxInt64, math.MaxUint32, math.MaxUint64))
	f.Add([]byte(strings.Repeat("0", imBodyHeaderLen-1)))
	f.Add([]byte(strings.Repeat("F", imBodyHeaderLen)))
	f.Add([]byte("hello"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sentNS, pub, seq, ok := decodeIMBody(b)
		if !ok {
			return
		}
		again := appendIMBody(nil, imBodyHeaderLen, sentNS, pub, seq)
		if !bytes.Equal(again, b[:imBodyHeaderLen]) {
			t.Fatalf("decoded %q to %d %d %d, which encodes as %q", b, sentNS, pub, seq, again)
		}
	})
}

// FuzzParseCID: never panics; what parses prints back the same.
func FuzzParseCID(f *testing.F) {
	for _, s := range []string{"deadbeef.1.2", "deadbeef.4294967295.18446744073709551615", "deadbeef.01.2", "m-1", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, seq, ok := parseCID(b, "deadbeef")
		if ok && !bytes.Equal(appendCID(nil, "deadbeef", pub, seq), b) {
			t.Fatalf("parsed %q as %d %d", b, pub, seq)
		}
	})
}

// FuzzScanObject: never panics; on valid JSON objects it finds the members
// encoding/json finds, with the same raw values (the last of duplicate keys
// wins in both).
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"code":0,"cid":"a1","conv":"d:a:b","id":"1","seq":1,"ts":1}`,
		`{"seq":7,"notice":{"event":"joined","users":["a","b"]},"body":"x\"}"}`,
		` { "a" : [ 1 , { "b" : "]" } ] , "a" : null } `,
		`{"\u0063id":"x","k\\":"v"}`,
		`{}`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[]`, `"x"`, `{"a":"\`, `{"a":1} 2`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		got := map[string]string{}
		var keyErr error
		err := scanObject(p, func(key, val []byte) {
			// encoding/json's view of the key (it also replaces invalid UTF-8)
			var k string
			if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k); err != nil {
				keyErr = err
				return
			}
			got[k] = string(val)
		})
		_, _ = parseIMDown(p)
		var want map[string]json.RawMessage
		if json.Unmarshal(p, &want) != nil || want == nil {
			return // not a JSON object: the scanner may say anything but must not panic
		}
		if err != nil || keyErr != nil {
			t.Fatalf("valid object %q: scan error %v / key %v", p, err, keyErr)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: scanned %d keys %v, encoding/json %d", p, len(got), got, len(want))
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("%q: key %q = %q, encoding/json %q", p, k, got[k], v)
			}
		}
	})
}

func BenchmarkAppendSendPayload(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for i := range b.N {
		buf = appendSendPayload(buf[:0], "0a1b2c3d", 64, int64(i), 17, uint64(i))
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkParseEnvelope is the per-delivery cost in the members' readers.
func BenchmarkParseEnvelope(b *testing.B) {
	b.ReportAllocs()
	env := []byte(`{"seq":42,"id":"8172663910400000","conv":"g:8172663910400005","from":"g0","ts":1750000000000,"cid":"0a1b2c3d.0.41","type":"text","body":"` +
		string(appendIMBody(nil, 64, 1, 0, 41)) + `"}`)
	b.SetBytes(int64(len(env)))
	for range b.N {
		d, err := parseIMDown(env)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, ok := parseCID(d.cid, "0a1b2c3d"); !ok {
			b.Fatal("cid")
		}
		if _, _, _, ok := decodeIMBody(d.body); !ok {
			b.Fatal("body")
		}
	}
}
