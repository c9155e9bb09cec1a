package listen

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// publish returns a QoS 0 PUBLISH with a body of exactly size bytes.
func publishOfBody(size int) []byte {
	body := append(mqttString("t"), bytes.Repeat([]byte{'x'}, size-3)...)
	return packet(0x30, body)
}

func TestPacketStreamVerdicts(t *testing.T) {
	v5 := connectV5("c")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name     string
		in       []byte
		firstMax uint32
		max      uint32
		want     verdict
		at       int // stream offset of the refused packet
	}{
		{"empty", nil, 100, 0, verdictOK, 0},
		{"type only", []byte{0x10}, 100, 0, verdictOK, 0},
		{"zero length", []byte{0x10, 0x00}, 100, 0, verdictOK, 0},
		{"at limit", []byte{0x10, 100}, 100, 0, verdictOK, 0},
		{"over limit", []byte{0x10, 101}, 100, 0, verdictTooLarge, 0},
		{"two bytes 128", []byte{0x10, 0x80, 0x01}, 128, 0, verdictOK, 0},
		{"two bytes 129 over", []byte{0x10, 0x81, 0x01}, 128, 0, verdictTooLarge, 0},
		{"two bytes pending", []byte{0x10, 0x80}, 128, 0, verdictOK, 0},
		{"four bytes max", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, maxRemainingLen, 0, verdictOK, 0},
		{"256 MiB over 64 KiB", []byte{0x10, 0xff, 0xff, 0xff, 0x7f}, 64 << 10, 0, verdictTooLarge, 0},
		{"five bytes", []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x01}, maxRemainingLen, 0, verdictMalformed, 0},
		{"four continuation bytes", []byte{0x10, 0x80, 0x80, 0x80, 0x80}, maxRemainingLen, 0, verdictMalformed, 0},
		{"publish", []byte{0x30, 0x00}, 100, 0, verdictNotConnect, 0},
		{"connect with flags", []byte{0x12, 0x00}, 100, 0, verdictNotConnect, 0},
		{"connack", []byte{0x20, 0x02, 0x00, 0x00}, 100, 0, verdictNotConnect, 0},
		{"tls client hello", []byte{0x16, 0x03, 0x01}, 100, 0, verdictNotConnect, 0},
		{"trailing bytes ignored without max", []byte{0x10, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 100, 0, verdictOK, 0},
		{"later malformed with max", cat(v5, []byte{0x30, 0xff, 0xff, 0xff, 0xff}), 100, 1000, verdictMalformed, len(v5)},
		{"later packet at max", cat(v5, publishOfBody(98)), 100, 100, verdictOK, 0},
		{"later packet one over", cat(v5, publishOfBody(99)), 100, 100, verdictPacketTooLarge, len(v5)},
		{"length bytes count", cat(v5, publishOfBody(200)), 1000, 203, verdictOK, 0},
		{"length bytes count over", cat(v5, publishOfBody(200)), 1000, 202, verdictPacketTooLarge, len(v5)},
		{"256 MiB after connect", cat(v5, []byte{0x30, 0xff, 0xff, 0xff, 0x7f}), 100, 1 << 20, verdictPacketTooLarge, len(v5)},
		{"third packet over", cat(v5, []byte{0xc0, 0x00}, publishOfBody(50), publishOfBody(51), []byte{0xc0, 0x00}), 100, 52, verdictPacketTooLarge, len(v5) + 2 + 52},
		{"mochi 501 subscribe passes", cat(v5, []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61}), 100, 8, verdictOK, 0},
		{"mochi 501 subscribe over", cat(v5, []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61}), 100, 7, verdictPacketTooLarge, len(v5)},
		{"first packet not bound by max", cat(v5, []byte{0xc0, 0x00}), 100, 2, verdictOK, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newPacketStream(tc.firstMax, tc.max)
			got, at := s.feed(tc.in), 0
			if got != verdictOK {
				at = int(s.refusedAt())
			}
			if got != tc.want || at != tc.at {
				t.Fatalf("feed(% x) = %s at %d, want %s at %d", tc.in, got, at, tc.want, tc.at)
			}
			if rv, rat, _ := referenceStream(tc.in, tc.firstMax, tc.max); rv != got || (got != verdictOK && rat != at) {
				t.Fatalf("reference decoder: %s at %d", rv, rat)
			}
			// Byte by byte gives the same verdict at the same offset.
			s = newPacketStream(tc.firstMax, tc.max)
			got, at = verdictOK, 0
			for i := range tc.in {
				if v := s.feed(tc.in[i : i+1]); v != verdictOK {
					got, at = v, int(s.refusedAt())
					break
				}
			}
			if got != tc.want || at != tc.at {
				t.Fatalf("byte by byte = %s at %d, want %s at %d", got, at, tc.want, tc.at)
			}
		})
	}
}

// connectV31 is an MQTT 3.1 CONNECT (protocol name MQIsdp, level 3).
func connectV31(clientID string) []byte {
	body := append(mqttString("MQIsdp"), 3, 0x02, 0, 30)
	body = append(body, mqttString(clientID)...)
	return packet(0x10, body)
}

func TestPacketStreamProtocolLevel(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		level byte
		v5    bool
	}{
		{"v5", connectV5("a"), 5, true},
		{"v311", connectV311("a"), 4, false},
		{"v31", connectV31("a"), 3, false},
		{"empty connect", []byte{0x10, 0x00}, 0, false},
		{"truncated name", []byte{0x10, 0x04, 0x00, 0x04, 'M', 'Q'}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 3, 1000} {
				s := newPacketStream(1000, 1000)
				for rest := tc.in; len(rest) > 0; {
					n := min(chunk, len(rest))
					if v := s.feed(rest[:n]); v != verdictOK {
						t.Fatalf("verdict %s", v)
					}
					rest = rest[n:]
				}
				if s.level != tc.level || s.v5() != tc.v5 {
					t.Fatalf("chunks of %d: level %d v5 %v, want %d %v", chunk, s.level, s.v5(), tc.level, tc.v5)
				}
			}
		})
	}
}

// referenceStream walks a whole stream the obvious way and returns the verdict,
// the offset of the refused packet and the CONNECT's protocol level.
func referenceStream(b []byte, firstMax, max uint32) (verdict, int, byte) {
	var level byte
	for off, first := 0, true; off < len(b); first = false {
		if first && b[off] != connectHeader {
			return verdictNotConnect, off, level
		}
		var n uint32
		i := 0
		for ; ; i++ {
			if i == 4 {
				return verdictMalformed, off, level
			}
			if off+1+i >= len(b) {
				return verdictOK, 0, level
			}
			x := b[off+1+i]
			n |= uint32(x&0x7f) << (7 * i)
			if x&0x80 == 0 {
				break
			}
		}
		hdr := 1 + i + 1
		if first && n > firstMax {
			return verdictTooLarge, off, level
		}
		if first && max == 0 {
			return verdictOK, 0, level
		}
		if !first && uint64(hdr)+uint64(n) > uint64(max) {
			return verdictPacketTooLarge, off, level
		}
		body := b[off+hdr:]
		body = body[:min(len(body), int(n))]
		if first && len(body) >= 2 {
			if pos := 2 + int(binary.BigEndian.Uint16(body)); pos < len(body) {
				level = body[pos]
			}
		}
		off += hdr + int(n)
	}
	return verdictOK, 0, level
}

// FuzzPacketStream feeds arbitrary streams whole and split into chunks (sizes
// taken from splits): no panic, the chunked verdict and the offset of the refused
// packet equal the whole stream's, and both equal a straightforward decoder's.
func FuzzPacketStream(f *testing.F) {
	v5 := connectV5("seed")
	seeds := [][]byte{
		nil,
		{0x10},
		v5,
		connectV311("seed"),
		connectV31("seed"),
		{0x10, 0xff, 0xff, 0xff, 0x7f},
		{0x10, 0xff, 0xff, 0xff, 0xff, 0x01},
		{0x10, 0x80, 0x80, 0x80, 0x80},
		{0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61},
		append(append([]byte{}, v5...), 0x82, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61), // mochi #501
		append(append([]byte{}, v5...), 0x30, 0xff, 0xff, 0xff, 0x7f),
		append(append([]byte{}, v5...), 0x30, 0xff, 0xff, 0xff, 0xff, 0x01),
		append(append(append([]byte{}, v5...), publishOfBody(300)...), 0xc0, 0x00, 0xe0, 0x00),
		{0x30, 0x00},
		[]byte("GET /mqtt HTTP/1.1\r\n"),
		{0x16, 0x03, 0x01, 0x00, 0xa5},
	}
	for i, s := range seeds {
		f.Add(s, []byte{byte(i), 1, 2, 3}, uint32(1024), uint32(0))
		f.Add(s, []byte{byte(i), 7, 5}, uint32(1024), uint32(8))
		f.Add(s, []byte{3}, uint32(64), uint32(1024))
	}
	f.Fuzz(func(t *testing.T, data, splits []byte, firstMax, max uint32) {
		firstMax %= maxRemainingLen + 1
		max %= maxPacketTotal + 1
		whole := newPacketStream(firstMax, max)
		want, wantAt := whole.feed(data), 0
		if want != verdictOK {
			wantAt = int(whole.refusedAt())
		}
		ref, refAt, refLevel := referenceStream(data, firstMax, max)
		if ref != want || refAt != wantAt {
			t.Fatalf("verdict %s at %d, reference %s at %d for % x (max %d/%d)", want, wantAt, ref, refAt, data, firstMax, max)
		}
		if max != 0 && whole.level != refLevel {
			t.Fatalf("level %d, reference %d for % x", whole.level, refLevel, data)
		}
		chunked := newPacketStream(firstMax, max)
		got, gotAt, off := verdictOK, 0, 0
		for i := 0; off < len(data); i++ {
			n := 1
			if len(splits) > 0 {
				n = int(splits[i%len(splits)])%8 + 1
			}
			n = min(n, len(data)-off)
			if v := chunked.feed(data[off : off+n]); v != verdictOK {
				got, gotAt = v, int(chunked.refusedAt())
				if gotAt > off+n {
					t.Fatalf("refused packet at %d, beyond the %d bytes fed", gotAt, off+n)
				}
				break
			}
			off += n
			if h := chunked.partialHeader(); h > 4 || h > off {
				t.Fatalf("partial header of %d bytes after %d", h, off)
			}
		}
		if got != want || gotAt != wantAt {
			t.Fatalf("chunked verdict %s at %d, whole %s at %d for % x", got, gotAt, want, wantAt, data)
		}
		if got != verdictOK {
			if v := chunked.feed([]byte{0x30, 0x00}); v != got || int(chunked.refusedAt()) != gotAt {
				t.Fatalf("final verdict changed: %s at %d", v, chunked.refusedAt())
			}
		}
	})
}

func BenchmarkPacketStreamConnect(b *testing.B) {
	pk := connectV5("bench-client")
	b.ReportAllocs()
	b.SetBytes(int64(len(pk)))
	for b.Loop() {
		s := newPacketStream(64<<10, 0)
		if v := s.feed(pk); v != verdictOK {
			b.Fatal(v)
		}
	}
}

// TestPacketStreamChunkCounts checks the per-chunk packet and PUBLISH counts that
// decide the cross-connection ordering yield (conn.readTracked).
func TestPacketStreamChunkCounts(t *testing.T) {
	sub := packet(0x82, append([]byte{0, 1}, append(mqttString("a/b"), 1)...))
	pub := publishOfBody(10)
	ping := []byte{0xc0, 0x00}
	s := newPacketStream(1<<10, 1<<10)
	steps := []struct {
		name          string
		chunk         []byte
		packets, pubs uint32
	}{
		{"connect", connectV5("c"), 1, 0},
		{"subscribe", sub, 1, 0},
		{"one publish", pub, 1, 1},
		{"publish split: header", pub[:1], 1, 1},
		{"publish split: rest", pub[1:], 0, 0},
		{"ping and publish", append(append([]byte{}, ping...), pub...), 2, 1},
		{"flood", bytes.Repeat(pub, 50), 50, 50},
	}
	for _, st := range steps {
		if v := s.feed(st.chunk); v != verdictOK {
			t.Fatalf("%s: verdict %v", st.name, v)
		}
		if s.chunkPackets != st.packets || s.chunkPublishs != st.pubs {
			t.Errorf("%s: packets %d publishes %d, want %d %d", st.name, s.chunkPackets, s.chunkPublishs, st.packets, st.pubs)
		}
	}
}
