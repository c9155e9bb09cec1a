package listen

// verdict is the packet stream tracker's judgement of the bytes seen so far.
type verdict uint8

const (
	verdictOK             verdict = iota // nothing wrong so far
	verdictNotConnect                    // the first byte is not 0x10
	verdictTooLarge                      // the first packet's remaining length is above its limit
	verdictMalformed                     // a remaining length is longer than 4 bytes
	verdictPacketTooLarge                // a later packet's total size is above its limit
)

// String names the verdict (for tests and logs).
func (v verdict) String() string {
	switch v {
	case verdictOK:
		return "ok"
	case verdictNotConnect:
		return "not_connect"
	case verdictTooLarge:
		return "too_large"
	case verdictMalformed:
		return "malformed"
	case verdictPacketTooLarge:
		return "packet_too_large"
	}
	return "unknown"
}

// Phases of the packet stream tracker.
const (
	phaseType   uint8 = iota // the next byte is a fixed header's first byte
	phaseLength              // inside a remaining length
	phaseBody                // inside a packet body
	phaseOff                 // nothing more to check: bytes pass untouched
)

// connectHeader is the CONNECT fixed header byte: type 1, flags 0.
const connectHeader = 0x10

// publishType is the PUBLISH control packet type (the fixed header's high nibble).
const publishType = 3

// MQTT protocol levels found in CONNECT [MQTT-3.1.2-2].
const protocolV5 = 5

// packetStream follows MQTT packet boundaries in a byte stream as it arrives, in
// chunks of any size, without copying or allocating:
//   - the first packet must be a CONNECT (byte 0x10, reserved flags 0
//     [MQTT-3.1.0-1] [MQTT-2.1.3-1]) whose remaining length is at most firstMax;
//   - it reads the protocol level from the CONNECT's variable header (2-byte
//     name length, the name "MQTT" or "MQIsdp", then the level: 3, 4 or 5);
//   - when max is not 0, every later packet's total size (1 + length bytes +
//     remaining length) must be at most max; bodies are skipped, not read.
//
// Every remaining length is a variable byte integer of 1 to 4 bytes [MQTT-1.5.5];
// a fifth byte is malformed. With max 0 it stops after the first fixed header
// (the protocol level is then not read).
// Once the verdict is not verdictOK it is final. It is used by one reader
// goroutine and needs no lock.
type packetStream struct {
	firstMax uint32 // largest remaining length of the first packet
	max      uint32 // largest total size of a later packet; 0: unchecked

	pos       uint64 // stream bytes fed so far
	start     uint64 // stream offset of the packet in progress (or refused)
	phase     uint8
	first     bool   // the packet in progress is the first (CONNECT)
	n         uint8  // remaining length bytes seen of the current header
	length    uint32 // remaining length decoded so far
	left      uint32 // body bytes still to pass
	vpos      uint32 // CONNECT body bytes seen while looking for the protocol level
	nameLen   uint32 // CONNECT protocol name length
	level     byte   // CONNECT protocol level, once levelSeen
	levelSeen bool
	v         verdict

	// Per chunk (reset by feed): packets whose fixed header starts in the chunk,
	// and how many of them are PUBLISH.
	chunkPackets  uint32
	chunkPublishs uint32
}

// newPacketStream returns a tracker for a new connection.
func newPacketStream(firstMax, max uint32) packetStream {
	return packetStream{firstMax: firstMax, max: max, first: true}
}

// off reports that the tracker needs no more bytes: the caller may stop feeding.
func (s *packetStream) off() bool { return s.phase == phaseOff }

// v5 reports whether the CONNECT announced MQTT 5.
func (s *packetStream) v5() bool { return s.level == protocolV5 }

// refusedAt is the stream offset where the refused packet begins (once the
// verdict is not verdictOK): the bytes before it may still be passed on.
func (s *packetStream) refusedAt() uint64 { return s.start }

// partialHeader is the number of bytes at the end of the stream so far that
// belong to a fixed header not complete yet (0 to 4).
func (s *packetStream) partialHeader() int {
	if s.phase != phaseLength || s.v != verdictOK {
		return 0
	}
	return int(s.pos - s.start)
}

// feed consumes the next chunk of the stream and returns the verdict so far.
func (s *packetStream) feed(b []byte) verdict {
	if s.v != verdictOK {
		return s.v
	}
	s.chunkPackets, s.chunkPublishs = 0, 0
	v := s.scan(b)
	s.pos += uint64(len(b))
	return v
}

// scan is feed without the stream position update.
func (s *packetStream) scan(b []byte) verdict {
	for i := 0; i < len(b); {
		switch s.phase {
		case phaseOff:
			return verdictOK
		case phaseType:
			s.start = s.pos + uint64(i)
			if s.first && b[i] != connectHeader {
				s.v = verdictNotConnect
				return s.v
			}
			s.chunkPackets++
			if b[i]>>4 == publishType {
				s.chunkPublishs++
			}
			s.phase, s.n, s.length = phaseLength, 0, 0
			i++
		case phaseLength:
			x := b[i]
			i++
			s.length |= uint32(x&0x7f) << (7 * uint32(s.n))
			s.n++
			if x&0x80 != 0 {
				if s.n == 4 { // four length bytes, all with the continuation bit
					s.v = verdictMalformed
					return s.v
				}
				continue
			}
			if s.first && s.length > s.firstMax {
				s.v = verdictTooLarge
				return s.v
			}
			if s.first && s.max == 0 { // nothing to check after the first header
				s.phase = phaseOff
				return verdictOK
			}
			if !s.first && 1+uint32(s.n)+s.length > s.max { // max > 0: off otherwise
				s.v = verdictPacketTooLarge
				return s.v
			}
			s.left = s.length
			s.phase = phaseBody
			if s.left == 0 {
				s.endPacket()
			}
		case phaseBody:
			if s.first && !s.levelSeen {
				i += s.connectBody(b[i:])
			} else {
				k := min(uint32(len(b)-i), s.left)
				s.left -= k
				i += int(k)
			}
			if s.left == 0 {
				s.endPacket()
			}
		}
	}
	return verdictOK
}

// connectBody reads CONNECT body bytes until the protocol level is seen or the
// body ends, and returns how many bytes of b it consumed.
func (s *packetStream) connectBody(b []byte) int {
	i := 0
	for ; i < len(b) && s.left > 0 && !s.levelSeen; i++ {
		x := b[i]
		switch {
		case s.vpos == 0:
			s.nameLen = uint32(x) << 8
		case s.vpos == 1:
			s.nameLen |= uint32(x)
		case s.vpos == 2+s.nameLen:
			s.level, s.levelSeen = x, true
		}
		s.vpos++
		s.left--
	}
	return i
}

// endPacket moves on to the next fixed header.
func (s *packetStream) endPacket() {
	s.phase = phaseType
	s.first = false
}
