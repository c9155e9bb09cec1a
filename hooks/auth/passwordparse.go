package auth

import (
	"bytes"
	"fmt"
	"strings"
)

// bcryptHashLen is the length of every bcrypt hash in modular crypt format:
// "$2b$" + two cost digits + "$" + 22 salt + 31 hash characters.
const bcryptHashLen = 60

// ParseError is the error for a password file line that cannot be used. It
// names the file and the 1-based line; Err is one of ErrMalformedLine,
// ErrInvalidUsername, ErrDuplicateUser or ErrUnsupportedHash (errors.Is works
// through ParseError). The line's content is never quoted: it may hold a hash
// or a password pasted by mistake.
type ParseError struct {
	File string // path of the password file ("" when parsed from memory)
	Line int    // 1-based line number
	Err  error  // the reason, wrapping a sentinel
}

// Error implements error as "file:line: reason".
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns the reason.
func (e *ParseError) Unwrap() error { return e.Err }

// pwLine is one line of a password file. Comments and blank lines keep their
// raw text so that Save writes them back unchanged; entries have a user.
type pwLine struct {
	raw  string // comment or blank line (user == "")
	user string
	hash []byte
}

// parsePasswordFile parses the content of a password file. name is used in
// errors only. It validates every entry (username rules, bcrypt hash shape,
// no duplicates) without running bcrypt, so it is cheap and safe to fuzz.
func parsePasswordFile(name string, data []byte) ([]pwLine, map[string]int, error) {
	var lines []pwLine
	index := make(map[string]int)
	firstSeen := make(map[string]int) // user -> line number, for duplicate errors
	if len(data) == 0 {
		return lines, index, nil
	}
	// A final newline ends the last line; it does not start an empty one.
	data = bytes.TrimSuffix(data, []byte("\n"))
	for n, b := range bytes.Split(data, []byte("\n")) {
		lineNo := n + 1
		s := strings.TrimSuffix(string(b), "\r")
		trimmed := strings.TrimSpace(s)
		if trimmed == "" {
			lines = append(lines, pwLine{}) // blank lines are written back empty
			continue
		}
		if trimmed[0] == '#' {
			lines = append(lines, pwLine{raw: strings.TrimRight(s, "\r")})
			continue
		}
		user, hash, ok := strings.Cut(s, ":")
		if !ok {
			return nil, nil, &ParseError{File: name, Line: lineNo, Err: fmt.Errorf("%w: expected username:hash", ErrMalformedLine)}
		}
		if err := ValidateUsername(user); err != nil {
			return nil, nil, &ParseError{File: name, Line: lineNo, Err: err}
		}
		hash = strings.TrimRight(hash, " \t")
		if err := checkBcryptHash(hash); err != nil {
			return nil, nil, &ParseError{File: name, Line: lineNo, Err: err}
		}
		if first, dup := firstSeen[user]; dup {
			return nil, nil, &ParseError{File: name, Line: lineNo, Err: fmt.Errorf("%w: already defined on line %d", ErrDuplicateUser, first)}
		}
		firstSeen[user] = lineNo
		index[user] = len(lines)
		lines = append(lines, pwLine{user: user, hash: []byte(hash)})
	}
	return lines, index, nil
}

// checkBcryptHash checks the shape of a bcrypt hash without computing it:
// "$2a$", "$2b$" or "$2y$", a two-digit cost between 4 and 31, "$", then 53
// characters of bcrypt's base64 alphabet.
func checkBcryptHash(h string) error {
	if len(h) != bcryptHashLen {
		return fmt.Errorf("%w: want a %d-character bcrypt hash", ErrUnsupportedHash, bcryptHashLen)
	}
	if h[0] != '$' || h[1] != '2' || (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$' {
		return fmt.Errorf("%w: not a bcrypt hash ($2a$, $2b$ or $2y$)", ErrUnsupportedHash)
	}
	if h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' {
		return fmt.Errorf("%w: bad bcrypt cost", ErrUnsupportedHash)
	}
	if cost := int(h[4]-'0')*10 + int(h[5]-'0'); cost < minBcryptCost || cost > maxBcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d outside %d..%d", ErrUnsupportedHash, cost, minBcryptCost, maxBcryptCost)
	}
	for i := 7; i < len(h); i++ {
		c := h[i]
		if !(c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return fmt.Errorf("%w: bad character in bcrypt salt or hash", ErrUnsupportedHash)
		}
	}
	return nil
}

// hashCost returns the cost of a hash that passed checkBcryptHash.
func hashCost(h []byte) int {
	return int(h[4]-'0')*10 + int(h[5]-'0')
}

// formatPasswordFile renders lines back to file content, one line each,
// newline-terminated. Entries are written as "user:hash".
func formatPasswordFile(lines []pwLine) []byte {
	var buf bytes.Buffer
	for _, l := range lines {
		if l.user == "" {
			buf.WriteString(l.raw)
		} else {
			buf.WriteString(l.user)
			buf.WriteByte(':')
			buf.Write(l.hash)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}
