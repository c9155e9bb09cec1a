package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrJSON reports a payload that is not the JSON object the IM scenarios expect.
var ErrJSON = errors.New("invalid json")

// scanObject calls fn for every member of the JSON object p, top level only, in
// order, with the key as written (without its quotes, escapes kept) and the raw
// value. For valid JSON it sees what encoding/json sees; it does not validate
// numbers, literals or escapes beyond finding where they end. It allocates
// nothing: envelopes arrive at up to 10^5 a second and the tool must not be
// the bottleneck.
func scanObject(p []byte, fn func(key, val []byte)) error {
	i := skipWS(p, 0)
	if i >= len(p) || p[i] != '{' {
		return fmt.Errorf("not an object: %w", ErrJSON)
	}
	i = skipWS(p, i+1)
	if i < len(p) && p[i] == '}' {
		return trailing(p, i+1)
	}
	for {
		if i >= len(p) || p[i] != '"' {
			return fmt.Errorf("offset %d: want a key: %w", i, ErrJSON)
		}
		end, err := skipString(p, i)
		if err != nil {
			return err
		}
		key := p[i+1 : end-1]
		i = skipWS(p, end)
		if i >= len(p) || p[i] != ':' {
			return fmt.Errorf("offset %d: want ':': %w", i, ErrJSON)
		}
		i = skipWS(p, i+1)
		vend, err := skipValue(p, i)
		if err != nil {
			return err
		}
		fn(key, p[i:vend])
		i = skipWS(p, vend)
		if i >= len(p) {
			return fmt.Errorf("unterminated object: %w", ErrJSON)
		}
		switch p[i] {
		case ',':
			i = skipWS(p, i+1)
		case '}':
			return trailing(p, i+1)
		default:
			return fmt.Errorf("offset %d: want ',' or '}': %w", i, ErrJSON)
		}
	}
}

func trailing(p []byte, i int) error {
	if skipWS(p, i) != len(p) {
		return fmt.Errorf("offset %d: data after the object: %w", i, ErrJSON)
	}
	return nil
}

func skipWS(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at p[i] == '"'.
func skipString(p []byte, i int) (int, error) {
	for j := i + 1; j < len(p); j++ {
		switch c := p[j]; {
		case c == '\\':
			j++
		case c == '"':
			return j + 1, nil
		case c < 0x20:
			return 0, fmt.Errorf("offset %d: control character in string: %w", j, ErrJSON)
		}
	}
	return 0, fmt.Errorf("offset %d: unterminated string: %w", i, ErrJSON)
}

// skipValue returns the index after the value starting at p[i].
func skipValue(p []byte, i int) (int, error) {
	if i >= len(p) {
		return 0, fmt.Errorf("offset %d: want a value: %w", i, ErrJSON)
	}
	switch p[i] {
	case '"':
		return skipString(p, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(p); {
			switch p[j] {
			case '"':
				end, err := skipString(p, j)
				if err != nil {
					return 0, err
				}
				j = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
			j++
		}
		return 0, fmt.Errorf("offset %d: unterminated %q: %w", i, p[i], ErrJSON)
	case ',', '}', ']', ':':
		return 0, fmt.Errorf("offset %d: want a value: %w", i, ErrJSON)
	}
	j := i
	for j < len(p) {
		c := p[j]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		if c == '"' || c == '{' || c == '[' || c == ':' {
			return 0, fmt.Errorf("offset %d: bad literal: %w", j, ErrJSON)
		}
		j++
	}
	return j, nil
}

// jsonString returns the content of the raw JSON string value v: a sub-slice
// of v when it holds no escape (invalid UTF-8 is then kept as is, where
// encoding/json would substitute U+FFFD), else a decoded copy.
func jsonString(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, fmt.Errorf("not a string: %w", ErrJSON)
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrJSON, err)
	}
	return []byte(s), nil
}

// imDown is what the scenarios read from a server message: an envelope on
// im/u/{user}/msg (cid, body) or an ack on im/u/{user}/ack (ok, code, reason,
// cid). Byte slices alias the payload (or a decoded copy for escaped strings).
type imDown struct {
	cid, body, reason, conv []byte
	ok                      bool
	code                    int
	seq                     uint64
}

// parseIMDown extracts the fields of imDown from a server message. Fields
// that are missing stay zero; a present field of the wrong type is an error.
func parseIMDown(p []byte) (imDown, error) {
	var d imDown
	var ferr error
	err := scanObject(p, func(key, val []byte) {
		if ferr != nil {
			return
		}
		var err error
		switch string(key) {
		case "cid":
			d.cid, err = jsonString(val)
		case "body":
			d.body, err = jsonString(val)
		case "conv":
			d.conv, err = jsonString(val)
		case "seq":
			d.seq, err = strconv.ParseUint(string(val), 10, 64)
			if err != nil {
				err = fmt.Errorf("seq %q: %w", val, ErrJSON)
			}
		case "reason":
			d.reason, err = jsonString(val)
		case "ok":
			switch string(val) {
			case "true":
				d.ok = true
			case "false":
				d.ok = false
			default:
				err = fmt.Errorf("ok %q is not a boolean: %w", val, ErrJSON)
			}
		case "code":
			d.code, err = strconv.Atoi(string(val))
			if err != nil {
				err = fmt.Errorf("code %q: %w", val, ErrJSON)
			}
		}
		if err != nil {
			ferr = fmt.Errorf("field %s: %w", key, err)
		}
	})
	if err == nil {
		err = ferr
	}
	return d, err
}
