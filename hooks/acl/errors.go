package acl

import (
	"errors"
	"fmt"
)

// Sentinel errors of the package. Functions wrap them with context (the file and
// line, or the config field path); callers test for them with errors.Is.
var (
	// ErrParse is matched by every rules syntax error: an unknown keyword, a bad
	// access word, an invalid topic filter, a `user` line without a name, a line
	// that is not UTF-8. The concrete error is a *ParseError naming the source
	// (file name or rules[i]) and the line.
	ErrParse = errors.New("acl rules parse error")

	// ErrReadFile reports a rules file that cannot be read; the wrapped error
	// also matches the os error (for example fs.ErrNotExist).
	ErrReadFile = errors.New("cannot read acl rules file")

	// ErrInvalidConfig is matched by every error Config.Validate returns; the
	// error text names the field path and the value.
	ErrInvalidConfig = errors.New("invalid acl config")
)

// ParseError is a rules syntax error at one line of one source. It matches
// ErrParse with errors.Is.
type ParseError struct {
	// Source is the rules file name, or "rules[i]" for the i-th inline rule
	// of Config.Rules.
	Source string
	// Line is the 1-based line number in a file, 0 for an inline rule.
	Line int
	// Msg says what is wrong, quoting the offending token.
	Msg string
}

// Error formats the error as "file:line: msg" (or "rules[i]: msg").
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Source, e.Line, e.Msg)
	}
	return e.Source + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrParse) true.
func (e *ParseError) Unwrap() error { return ErrParse }
