package im

import (
	"strconv"
	"unicode/utf8"
)

// Hand-written JSON appenders for the hot path (envelopes, acks): no
// reflection, no allocation beyond the output buffer. Output is what
// encoding/json would accept and decode to the same strings (invalid UTF-8
// becomes U+FFFD, as encoding/json does).

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendField appends ,"key": (or "key": first) and returns b.
func appendKey(b []byte, key string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendStrField(b []byte, key, v string, first bool) []byte {
	return appendJSONString(appendKey(b, key, first), v)
}

func appendUintField(b []byte, key string, v uint64, first bool) []byte {
	return strconv.AppendUint(appendKey(b, key, first), v, 10)
}

func appendIntField(b []byte, key string, v int64, first bool) []byte {
	return strconv.AppendInt(appendKey(b, key, first), v, 10)
}

// appendIDField appends a 64-bit id as a decimal string (JavaScript numbers
// cannot hold it).
func appendIDField(b []byte, key string, v uint64, first bool) []byte {
	b = append(appendKey(b, key, first), '"')
	b = strconv.AppendUint(b, v, 10)
	return append(b, '"')
}

func appendBoolField(b []byte, key string, v bool, first bool) []byte {
	b = appendKey(b, key, first)
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}
