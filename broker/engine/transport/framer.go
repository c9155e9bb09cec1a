package transport

import (
	"errors"
	"fmt"

	"github.com/mochi-mqtt/server/v2/packets"
)

// maxHeader is the longest MQTT fixed header: 1 type byte + a 4-byte remaining
// length.
const maxHeader = 5

// errShort: the bytes do not hold a whole fixed header yet.
var errShort = errors.New("short fixed header")

// parseHeader decodes the fixed header at the start of data. It returns the header,
// its length and the packet's total size (header + remaining length); errShort when
// data ends inside the header; ErrPacketTooLarge when max > 0 and the total size is
// above it; ErrMalformed for a remaining length longer than 4 bytes or not in its
// shortest form [MQTT-1.5.5-1], or flags the packet type forbids (mochi's error
// wrapped too). Nothing is allocated.
func parseHeader(data []byte, max int) (fh packets.FixedHeader, hl, total int, err error) {
	rem, mult := 0, 1
	for i := 1; ; i++ {
		if i == maxHeader {
			return fh, 0, 0, fmt.Errorf("%w: remaining length longer than 4 bytes", ErrMalformed)
		}
		if i >= len(data) {
			return fh, 0, 0, errShort
		}
		d := data[i]
		rem += int(d&0x7f) * mult
		if d&0x80 == 0 {
			if d == 0 && i > 1 {
				return fh, 0, 0, fmt.Errorf("%w: remaining length not in its shortest form", ErrMalformed)
			}
			hl = i + 1
			break
		}
		mult <<= 7
	}
	total = hl + rem
	if max > 0 && total > max {
		return fh, 0, 0, fmt.Errorf("%w: %d bytes, the limit is %d", ErrPacketTooLarge, total, max)
	}
	if derr := fh.Decode(data[0]); derr != nil {
		return fh, 0, 0, fmt.Errorf("%w: %w", ErrMalformed, derr)
	}
	fh.Remaining = rem
	return fh, hl, total, nil
}

// framer splits a byte stream into MQTT packets. It keeps a packet that straddles
// two reads as an exact-size copy (partial); between packets it holds nothing.
// Only the goroutine that runs the connection's read batch uses it.
type framer struct {
	partial []byte // an incomplete packet: cap is its total size, or maxHeader while the header is incomplete
	// held is an exact copy of the bytes after the packet during which the sink
	// asked to hold (Conn.Pause): they are fed first when reading resumes.
	held []byte
}

// sink receives the framer's output: packet for each complete packet (body valid
// only during the call), malformed once when the stream is refused. After each
// packet, hold reports whether the framer must stop and keep the rest. limit is
// the largest total packet size allowed for the next header (0: MQTT's own);
// it is asked for every header, so it may change after a packet (the first
// packet's limit is listen.Limits.MaxFirstPacket).
type sink interface {
	packet(fh packets.FixedHeader, body []byte) error
	malformed(err error)
	hold() bool
	limit() int
}

// feed frames data, handing every complete packet to s in order. It returns the
// first error of s.packet (the rest of data is dropped), or the framer's error
// (after s.malformed). The stream cannot continue after an error.
func (f *framer) feed(data []byte, s sink) error {
	if f.partial != nil {
		var err error
		if data, err = f.fill(data, s); err != nil || f.partial != nil {
			return err
		}
		if s.hold() {
			f.keep(data)
			return nil
		}
	}
	for len(data) > 0 {
		fh, hl, total, err := parseHeader(data, s.limit())
		if err == errShort {
			f.partial = append(make([]byte, 0, maxHeader), data...)
			return nil
		}
		if err != nil {
			s.malformed(err)
			return err
		}
		if len(data) < total {
			f.partial = append(make([]byte, 0, total), data...)
			return nil
		}
		if err := s.packet(fh, data[hl:total]); err != nil {
			return err
		}
		data = data[total:]
		if s.hold() {
			f.keep(data)
			return nil
		}
	}
	return nil
}

// keep saves data (unframed bytes after a hold) as an exact-size copy.
func (f *framer) keep(data []byte) {
	if len(data) > 0 {
		f.held = append(f.held[:len(f.held):len(f.held)], data...)
	}
}

// resume feeds the held bytes, if any (a hold may keep some again).
func (f *framer) resume(s sink) error {
	if f.held == nil {
		return nil
	}
	h := f.held
	f.held = nil
	return f.feed(h, s)
}

// fill moves bytes of data into the partial packet; when it completes, it is
// handed to s and dropped. It returns the bytes of data left over.
func (f *framer) fill(data []byte, s sink) ([]byte, error) {
	for {
		fh, hl, total, err := parseHeader(f.partial, s.limit())
		if err == errShort {
			if len(data) == 0 {
				return nil, nil
			}
			f.partial = append(f.partial, data[0]) // cap maxHeader: no growth
			data = data[1:]
			continue
		}
		if err != nil {
			f.partial = nil
			s.malformed(err)
			return nil, err
		}
		if cap(f.partial) < total {
			f.partial = append(make([]byte, 0, total), f.partial...)
		}
		m := min(total-len(f.partial), len(data))
		f.partial = append(f.partial, data[:m]...)
		data = data[m:]
		if len(f.partial) < total {
			return nil, nil
		}
		p := f.partial
		f.partial = nil
		return data, s.packet(fh, p[hl:total])
	}
}
