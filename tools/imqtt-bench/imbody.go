package main

import (
	"encoding/hex"
	"strconv"
)

// IM payloads. The IM protocol's message body is a JSON string, so the binary
// payload header (payload.go) travels as text: imBodyHeaderLen lowercase hex
// digits (send time, sender index, sequence), then '.' padding up to -size
// bytes. The client message id (cid) names the run and the message:
// "{runID}.{sender}.{seq}" in decimal, so deliveries are de-duplicated by cid
// and acks matched to sends without any lookup table.

// imBodyHeaderLen is the length of the hex header at the start of every body.
const imBodyHeaderLen = 2 * headerLen

// maxIMBody is the largest -size the IM scenarios accept: imqttd's default
// im.max_body_bytes.
const maxIMBody = 16 << 10

// appendIMBody appends a body of size bytes (at least imBodyHeaderLen) that
// carries sentNS, pub and seq.
func appendIMBody(dst []byte, size int, sentNS int64, pub uint32, seq uint64) []byte {
	var h [headerLen]byte
	putHeader(h[:], sentNS, pub, seq)
	dst = hex.AppendEncode(dst, h[:])
	for n := imBodyHeaderLen; n < size; n++ {
		dst = append(dst, '.')
	}
	return dst
}

// decodeIMBody reads the header of a body written by appendIMBody; ok is false
// when body does not start with imBodyHeaderLen lowercase hex digits.
func decodeIMBody(body []byte) (sentNS int64, pub uint32, seq uint64, ok bool) {
	if len(body) < imBodyHeaderLen {
		return 0, 0, 0, false
	}
	var h [headerLen]byte
	for i := range h {
		hi, ok1 := unhex(body[2*i])
		lo, ok2 := unhex(body[2*i+1])
		if !ok1 || !ok2 {
			return 0, 0, 0, false
		}
		h[i] = hi<<4 | lo
	}
	return getHeader(h[:])
}

// unhex decodes one lowercase hex digit.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendCID appends the client message id of message seq of sender pub in run runID.
func appendCID(dst []byte, runID string, pub uint32, seq uint64) []byte {
	dst = append(dst, runID...)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, uint64(pub), 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, seq, 10)
}

// parseCID parses a cid written by appendCID for run runID; ok is false for
// any other cid (another run's, a foreign client's, a malformed one).
func parseCID(cid []byte, runID string) (pub uint32, seq uint64, ok bool) {
	if len(cid) < len(runID)+4 || string(cid[:len(runID)]) != runID || cid[len(runID)] != '.' {
		return 0, 0, false
	}
	rest := cid[len(runID)+1:]
	p, n, ok := parseDecimal(rest, 32)
	if !ok || n == len(rest) || rest[n] != '.' {
		return 0, 0, false
	}
	rest = rest[n+1:]
	s, n, ok := parseDecimal(rest, 64)
	if !ok || n != len(rest) {
		return 0, 0, false
	}
	return uint32(p), s, true
}

// parseDecimal parses the leading decimal digits of b (no sign, no leading
// zero unless the number is 0) as an unsigned number of at most bits bits; n is
// the count of digits consumed.
func parseDecimal(b []byte, bits int) (v uint64, n int, ok bool) {
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 20 || (n > 1 && b[0] == '0') {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(string(b[:n]), 10, bits)
	if err != nil {
		return 0, 0, false
	}
	return v, n, true
}

// appendSendPayload appends the JSON of an IM send request:
// {"cid":"...","body":"..."}. Neither the cid nor the body needs escaping.
func appendSendPayload(dst []byte, runID string, size int, sentNS int64, pub uint32, seq uint64) []byte {
	dst = append(dst, `{"cid":"`...)
	dst = appendCID(dst, runID, pub, seq)
	dst = append(dst, `","body":"`...)
	dst = appendIMBody(dst, size, sentNS, pub, seq)
	return append(dst, `"}`...)
}
