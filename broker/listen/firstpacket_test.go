package listen

import (
	"testing"
)

func TestFirstPacketVerdicts(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		max  uint32
		want verdict
	}{
		{"empty", nil, 100, verdictMore},
		{"type only", []byte{0x10}, 100, verdictMore},
		{"zero length", []byte{0x10, 0x00}, 100, verdictOK},
		{"at limit", []byte{0x10, 100}, 100, verdictOK},
		{"over limit", []byte{0x10, 101}, 100, verdictTooLarge},
		{"two bytes 128", []byte{0x10, 0x80, 0x01}, 128, verdictOK},
		{"two bytes 129 over", []byte{0x10, 0x81, 0x01}, 128, verdictTooLarge},
		{"two bytes pending", []byte{0x10, 0x80}, 128, verdictMore},
		{"four bytes max", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, maxRemainingLen, verdictOK},
		{"256 MiB over 64 KiB", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, 64 << 10, verdictTooLarge},
		{"five bytes", []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x01}, maxRemainingLen, verdictMalformed},
		{"four continuation bytes", []byte{0x10, 0x80, 0x80, 0x80, 0x80}, maxRemainingLen, verdictMalformed},
		{"publish", []byte{0x30, 0x00}, 100, verdictNotConnect},
		{"connect with flags", []byte{0x12, 0x00}, 100, verdictNotConnect},
		{"connack", []byte{0x20, 0x02, 0x00, 0x00}, 100, verdictNotConnect},
		{"tls client hello", []byte{0x16, 0x03, 0x01}, 100, verdictNotConnect},
		{"trailing bytes ignored", []byte{0x10, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 100, verdictOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := firstPacket{max: tc.max}
			if got := f.feed(tc.in); got != tc.want {
				t.Fatalf("feed(% x) = %s, want %s", tc.in, got, tc.want)
			}
			// Byte by byte gives the same verdict.
			f = firstPacket{max: tc.max}
			got := verdictMore
			for i := range tc.in {
				got = f.feed(tc.in[i : i+1])
			}
			if got != tc.want {
				t.Fatalf("byte by byte = %s, want %s", got, tc.want)
			}
		})
	}
}

// referenceVerdict decodes the fixed header of a whole stream the obvious way.
func referenceVerdict(b []byte, max uint32) verdict {
	if len(b) == 0 {
		return verdictMore
	}
	if b[0] != connectHeader {
		return verdictNotConnect
	}
	var n uint32
	for i := 0; i < 4; i++ {
		if 1+i >= len(b) {
			return verdictMore
		}
		x := b[1+i]
		n += uint32(x&0x7f) << (7 * i)
		if x&0x80 == 0 {
			if n > max {
				return verdictTooLarge
			}
			return verdictOK
		}
	}
	return verdictMalformed
}

// FuzzFirstPacket feeds arbitrary streams whole and split into chunks (sizes
// taken from splits): no panic, the chunked verdict equals the whole verdict,
// and both equal a straightforward decoder's.
func FuzzFirstPacket(f *testing.F) {
	seeds := [][]byte{
		nil,
		{0x10},
		connectV5("seed"),
		connectV311("seed"),
		{0x10, 0xff, 0xff, 0xff, 0x7f},
		{0x10, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0x10, 0x80, 0x80, 0x80, 0x80},
		{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61},
		{0x30, 0x00},
		[]byte("GET /mqtt HTTP/1.1\r\n"),
		{0x16, 0x03, 0x01, 0x00, 0xa5},
	}
	for i, s := range seeds {
		f.Add(s, []byte{byte(i), 1, 2, 3}, uint32(1024))
	}
	f.Fuzz(func(t *testing.T, data, splits []byte, max uint32) {
		max %= maxRemainingLen + 1
		whole := firstPacket{max: max}
		want := whole.feed(data)
		if ref := referenceVerdict(data, max); ref != want {
			t.Fatalf("verdict %s, reference decoder %s for % x (max %d)", want, ref, data, max)
		}
		chunked := firstPacket{max: max}
		got := verdictMore
		rest := data
		for i := 0; len(rest) > 0; i++ {
			n := 1
			if len(splits) > 0 {
				n = int(splits[i%len(splits)])%8 + 1
			}
			n = min(n, len(rest))
			got = chunked.feed(rest[:n])
			rest = rest[n:]
		}
		if len(data) == 0 {
			got = chunked.feed(nil)
		}
		if got != want {
			t.Fatalf("chunked verdict %s, whole %s for % x", got, want, data)
		}
	})
}

func BenchmarkFirstPacket(b *testing.B) {
	pk := connectV5("bench-client")
	b.ReportAllocs()
	b.SetBytes(int64(len(pk)))
	for b.Loop() {
		f := firstPacket{max: 64 << 10}
		if f.feed(pk) != verdictOK {
			b.Fatal("not ok")
		}
	}
}
