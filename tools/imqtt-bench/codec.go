package main

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MQTT control packet types (high nibble of the fixed header).
const (
	ptConnect    = 1
	ptConnack    = 2
	ptPublish    = 3
	ptPuback     = 4
	ptSubscribe  = 8
	ptSuback     = 9
	ptPingreq    = 12
	ptPingresp   = 13
	ptDisconnect = 14
)

// Errors of the codec.
var (
	// ErrMalformed reports a packet that does not follow the MQTT encoding.
	ErrMalformed = errors.New("malformed packet")
	// ErrTooLarge reports a remaining length above the reader's limit.
	ErrTooLarge = errors.New("packet too large")
	// ErrRefused reports a CONNACK or SUBACK that refused the request.
	ErrRefused = errors.New("refused by broker")
)

// appendVarint appends the MQTT variable byte integer v.
func appendVarint(b []byte, v int) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if v == 0 {
			return b
		}
	}
}

// readVarint decodes a variable byte integer from b; n is the bytes used.
func readVarint(b []byte) (v, n int, err error) {
	mult := 1
	for n < len(b) {
		c := b[n]
		n++
		v += int(c&0x7f) * mult
		if c&0x80 == 0 {
			return v, n, nil
		}
		if n == 4 {
			return 0, 0, fmt.Errorf("varint longer than 4 bytes: %w", ErrMalformed)
		}
		mult <<= 7
	}
	return 0, 0, fmt.Errorf("truncated varint: %w", ErrMalformed)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// packet wraps body with a fixed header.
func packet(dst []byte, first byte, body []byte) []byte {
	dst = append(dst, first)
	dst = appendVarint(dst, len(body))
	return append(dst, body...)
}

// encodeConnect builds a CONNECT with clean session/start and no credentials unless
// user is set. expiry > 0 asks for a persistent session: 3.1.1 clean session 0;
// MQTT 5 clean start 1 (a fresh session each run) with that Session Expiry.
func encodeConnect(dst []byte, version byte, clientID, user, pass string, keepalive uint16, expiry uint32) []byte {
	var body []byte
	body = appendString(body, "MQTT")
	body = append(body, version)
	flags := byte(0x02)
	if expiry > 0 && version < 5 {
		flags = 0
	}
	if user != "" {
		flags |= 0x80
		if pass != "" {
			flags |= 0x40
		}
	}
	body = append(body, flags)
	body = binary.BigEndian.AppendUint16(body, keepalive)
	if version == 5 {
		if expiry > 0 {
			body = append(body, 5, 0x11) // properties: Session Expiry Interval
			body = binary.BigEndian.AppendUint32(body, expiry)
		} else {
			body = append(body, 0) // no properties
		}
	}
	body = appendString(body, clientID)
	if user != "" {
		body = appendString(body, user)
		if pass != "" {
			body = appendString(body, pass)
		}
	}
	return packet(dst, ptConnect<<4, body)
}

// encodeSubscribe builds a SUBSCRIBE for one filter.
func encodeSubscribe(dst []byte, version byte, id uint16, filter string, qos byte) []byte {
	var body []byte
	body = binary.BigEndian.AppendUint16(body, id)
	if version == 5 {
		body = append(body, 0)
	}
	body = appendString(body, filter)
	body = append(body, qos)
	return packet(dst, ptSubscribe<<4|0x02, body)
}

// appendPublish appends a PUBLISH without allocating; id is ignored for QoS 0.
func appendPublish(dst []byte, version byte, topic string, qos byte, id uint16, payload []byte) []byte {
	n := 2 + len(topic) + len(payload)
	if qos > 0 {
		n += 2
	}
	if version == 5 {
		n++
	}
	dst = append(dst, ptPublish<<4|qos<<1)
	dst = appendVarint(dst, n)
	dst = appendString(dst, topic)
	if qos > 0 {
		dst = binary.BigEndian.AppendUint16(dst, id)
	}
	if version == 5 {
		dst = append(dst, 0)
	}
	return append(dst, payload...)
}

// appendPuback appends a PUBACK (success; v5 may omit the reason code).
func appendPuback(dst []byte, id uint16) []byte {
	return append(dst, ptPuback<<4, 2, byte(id>>8), byte(id))
}

// publish is a decoded PUBLISH; Topic and Payload alias the read buffer.
type publish struct {
	QoS     byte
	ID      uint16
	Topic   []byte
	Payload []byte
}

// decodePublish parses a PUBLISH body given its fixed-header flags.
func decodePublish(version, flags byte, body []byte) (publish, error) {
	var p publish
	p.QoS = flags >> 1 & 3
	if p.QoS == 3 {
		return p, fmt.Errorf("publish qos 3: %w", ErrMalformed)
	}
	if len(body) < 2 {
		return p, fmt.Errorf("publish topic length: %w", ErrMalformed)
	}
	tl := int(binary.BigEndian.Uint16(body))
	i := 2 + tl
	if len(body) < i {
		return p, fmt.Errorf("publish topic: %w", ErrMalformed)
	}
	p.Topic = body[2:i]
	if p.QoS > 0 {
		if len(body) < i+2 {
			return p, fmt.Errorf("publish packet id: %w", ErrMalformed)
		}
		p.ID = binary.BigEndian.Uint16(body[i:])
		i += 2
	}
	if version == 5 {
		pl, n, err := readVarint(body[i:])
		if err != nil {
			return p, fmt.Errorf("publish properties: %w", err)
		}
		i += n
		if pl > len(body)-i {
			return p, fmt.Errorf("publish properties length: %w", ErrMalformed)
		}
		i += pl
	}
	p.Payload = body[i:]
	return p, nil
}

// decodeAckID returns the packet id of a PUBACK or SUBACK body and the first reason
// byte after it (v5 PUBACK: optional reason; SUBACK: first granted QoS / reason).
func decodeAckID(version, typ byte, body []byte) (id uint16, reason byte, err error) {
	if len(body) < 2 {
		return 0, 0, fmt.Errorf("ack packet id: %w", ErrMalformed)
	}
	id = binary.BigEndian.Uint16(body)
	rest := body[2:]
	if typ == ptSuback {
		if version == 5 {
			pl, n, err := readVarint(rest)
			if err != nil || pl > len(rest)-n {
				return 0, 0, fmt.Errorf("suback properties: %w", ErrMalformed)
			}
			rest = rest[n+pl:]
		}
		if len(rest) == 0 {
			return 0, 0, fmt.Errorf("suback without reason codes: %w", ErrMalformed)
		}
		return id, rest[0], nil
	}
	if len(rest) > 0 {
		reason = rest[0]
	}
	return id, reason, nil
}

// decodeConnack returns the return code (v4) or reason code (v5).
func decodeConnack(body []byte) (byte, error) {
	if len(body) < 2 {
		return 0, fmt.Errorf("connack: %w", ErrMalformed)
	}
	return body[1], nil
}
