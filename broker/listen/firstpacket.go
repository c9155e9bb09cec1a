package listen

// verdict is the first-packet parser's judgement of a stream prefix.
type verdict uint8

const (
	verdictMore       verdict = iota // the fixed header is not complete yet
	verdictOK                        // a CONNECT header within the size limit
	verdictNotConnect                // byte 0 is not 0x10
	verdictTooLarge                  // remaining length above the limit
	verdictMalformed                 // remaining length longer than 4 bytes
)

// String names the verdict (for tests and logs).
func (v verdict) String() string {
	switch v {
	case verdictMore:
		return "more"
	case verdictOK:
		return "ok"
	case verdictNotConnect:
		return "not_connect"
	case verdictTooLarge:
		return "too_large"
	case verdictMalformed:
		return "malformed"
	}
	return "unknown"
}

// firstPacket checks the fixed header of the first packet of a stream as the bytes
// arrive, in chunks of any size: byte 0 must be CONNECT (0x10, reserved flags 0
// [MQTT-3.1.0-1] [MQTT-2.1.3-1]); the remaining length that follows (a variable byte
// integer of 1 to 4 bytes [MQTT-1.5.5]) must not exceed max. Once the verdict is
// final, feed returns it without looking at more bytes. The zero value with max set
// is ready; it is used by one reader goroutine and needs no lock.
type firstPacket struct {
	max    uint32  // largest remaining length allowed
	n      uint8   // header bytes seen: 0 none, 1 type byte, 2..5 length bytes
	length uint32  // remaining length decoded so far
	v      verdict // final once not verdictMore
}

// connectHeader is the CONNECT fixed header byte: type 1, flags 0.
const connectHeader = 0x10

// feed consumes the next chunk of the stream and returns the verdict so far.
func (f *firstPacket) feed(b []byte) verdict {
	for _, x := range b {
		if f.v != verdictMore {
			return f.v
		}
		if f.n == 0 {
			if x != connectHeader {
				f.v = verdictNotConnect
				return f.v
			}
			f.n = 1
			continue
		}
		f.length |= uint32(x&0x7f) << (7 * uint32(f.n-1))
		f.n++
		if x&0x80 == 0 {
			if f.length > f.max {
				f.v = verdictTooLarge
			} else {
				f.v = verdictOK
			}
			return f.v
		}
		if f.n == 5 { // four length bytes, all with the continuation bit
			f.v = verdictMalformed
			return f.v
		}
	}
	return f.v
}
