package transport

import (
	"encoding/binary"
	"fmt"
)

// WebSocket opcodes (RFC 6455 5.2).
const (
	wsCont   = 0x0
	wsText   = 0x1
	wsBinary = 0x2
	wsClose  = 0x8
	wsPing   = 0x9
	wsPong   = 0xa
)

// maxControl is the largest control frame payload (RFC 6455 5.5).
const maxControl = 125

// wsDecoder turns a client's WebSocket frames into the binary message bytes
// (MQTT's stream) and control frames. It unmasks payload in place and holds
// nothing between frames except a partial header (<= 14 bytes) and, inside a
// control frame, its payload (<= 125 bytes). Used only by the goroutine running
// the connection's read batch.
type wsDecoder struct {
	hdr     [14]byte
	hn      uint8   // bytes of hdr filled while the header is incomplete
	op      uint8   // opcode of the current frame
	fin     bool    // the current frame ends its message
	inMsg   bool    // a binary message started and has not ended
	mask    [4]byte // the current frame's masking key
	mpos    uint8   // next mask byte index
	left    uint64  // payload bytes of the current frame still to come
	ctrl    []byte  // the current control frame's payload so far
	inFrame bool    // a header was parsed; left payload bytes are due
}

// wsSink receives the decoder's output.
type wsSink interface {
	// data is a piece of a binary message (valid during the call).
	data(p []byte) error
	// control is a complete control frame (ping, pong, close).
	control(op byte, payload []byte) error
}

// decode consumes p (modifying it: payloads are unmasked in place).
func (d *wsDecoder) decode(p []byte, s wsSink) error {
	for len(p) > 0 {
		if !d.inFrame {
			// Between frames: parse a header.
			need, err := d.headerLen()
			for err == nil && int(d.hn) < need {
				if len(p) == 0 {
					return nil
				}
				m := min(need-int(d.hn), len(p))
				copy(d.hdr[d.hn:], p[:m])
				d.hn += uint8(m)
				p = p[m:]
				need, err = d.headerLen()
			}
			if err != nil {
				return err
			}
			if err := d.startFrame(); err != nil {
				return err
			}
			if d.left == 0 {
				if err := d.endFrame(s); err != nil {
					return err
				}
			}
			continue
		}
		m := int(min(d.left, uint64(len(p))))
		chunk := p[:m]
		p = p[m:]
		for i := range chunk {
			chunk[i] ^= d.mask[d.mpos&3]
			d.mpos++
		}
		d.left -= uint64(m)
		if d.op >= wsClose {
			d.ctrl = append(d.ctrl, chunk...)
		} else if err := s.data(chunk); err != nil {
			return err
		}
		if d.left == 0 {
			if err := d.endFrame(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// headerLen returns the header length the bytes so far call for.
func (d *wsDecoder) headerLen() (int, error) {
	if d.hn < 2 {
		return 2, nil
	}
	n := 2
	switch d.hdr[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if d.hdr[1]&0x80 == 0 {
		return 0, fmt.Errorf("%w: unmasked client frame", ErrWebSocket)
	}
	return n + 4, nil
}

// startFrame validates the complete header in hdr and sets up the payload.
func (d *wsDecoder) startFrame() error {
	h := d.hdr[:d.hn]
	d.hn = 0
	if h[0]&0x70 != 0 {
		return fmt.Errorf("%w: reserved bits set", ErrWebSocket)
	}
	d.fin = h[0]&0x80 != 0
	d.op = h[0] & 0x0f
	var n uint64
	switch l := h[1] & 0x7f; l {
	case 126:
		n = uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		n = binary.BigEndian.Uint64(h[2:])
		if n>>63 != 0 {
			return fmt.Errorf("%w: frame length", ErrWebSocket)
		}
	default:
		n = uint64(l)
	}
	copy(d.mask[:], h[len(h)-4:])
	d.mpos = 0
	d.left = n
	switch d.op {
	case wsBinary:
		if d.inMsg {
			return fmt.Errorf("%w: new message inside a fragmented one", ErrWebSocket)
		}
		d.inMsg = !d.fin
	case wsCont:
		if !d.inMsg {
			return fmt.Errorf("%w: continuation without a message", ErrWebSocket)
		}
		d.inMsg = !d.fin
	case wsText:
		return fmt.Errorf("%w: text message, MQTT needs binary [MQTT-6.0.0-1]", ErrWebSocket)
	case wsClose, wsPing, wsPong:
		if !d.fin || n > maxControl {
			return fmt.Errorf("%w: fragmented or long control frame", ErrWebSocket)
		}
		d.ctrl = make([]byte, 0, n)
	default:
		return fmt.Errorf("%w: reserved opcode %#x", ErrWebSocket, d.op)
	}
	d.inFrame = true
	return nil
}

// endFrame finishes the current frame (a control frame goes to s).
func (d *wsDecoder) endFrame(s wsSink) error {
	d.inFrame = false
	if d.op < wsClose {
		return nil
	}
	p := d.ctrl
	d.ctrl = nil
	op := d.op
	d.op = 0
	return s.control(op, p)
}

// appendWSHeader appends an unmasked server frame header.
func appendWSHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return b
}
