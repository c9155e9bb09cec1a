package adminapi

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/imqtt/imqtt/internal/mqtttopic"
)

// maxTopicLen is the longest topic name or filter MQTT can carry (a UTF-8
// string with a two-byte length) [MQTT-1.5.4-1].
const maxTopicLen = 65535

// Filter is a parsed MQTT topic filter. Levels may be empty ("a//b", "/a" are
// valid, MQTT 4.7.1). A shared subscription "$share/{group}/{filter}" keeps the
// group in Group and the inner filter's levels in Levels.
type Filter struct {
	// Raw is the filter as given.
	Raw string
	// Group is the share name of a shared subscription, "" otherwise.
	Group string
	// Levels are the levels of the (inner) filter.
	Levels []string
}

// Shared reports whether f is a shared subscription.
func (f Filter) Shared() bool { return f.Group != "" }

// ParseFilter checks s against the MQTT topic filter rules and splits it:
// non-empty, valid UTF-8 without NUL [MQTT-1.5.4-1] [MQTT-1.5.4-2], '#' only
// as a whole last level [MQTT-4.7.1-1], '+' only as a whole level
// [MQTT-4.7.1-2], and for "$share/" a non-empty share name without '/', '+' or
// '#' followed by a valid filter [MQTT-4.8.2-1] [MQTT-4.8.2-2]. Errors wrap
// ErrInvalidFilter and say which rule failed.
func ParseFilter(s string) (Filter, error) {
	if err := checkString(s, ErrInvalidFilter); err != nil {
		return Filter{}, err
	}
	f := Filter{Raw: s}
	inner := s
	if group, filter, ok, err := mqtttopic.ParseShared(s); ok {
		if err != nil {
			return Filter{}, fmt.Errorf("%w: %q: %w", ErrInvalidFilter, s, err)
		}
		f.Group, inner = group, filter
	}
	f.Levels = strings.Split(inner, "/")
	for i, l := range f.Levels {
		switch {
		case l == "#":
			if i != len(f.Levels)-1 {
				return Filter{}, fmt.Errorf("%w: %q: '#' must be the last level", ErrInvalidFilter, s)
			}
		case l == "+":
		case strings.ContainsAny(l, "+#"):
			return Filter{}, fmt.Errorf("%w: %q: level %d %q: a wildcard must fill the whole level", ErrInvalidFilter, s, i+1, l)
		}
	}
	return f, nil
}

// ValidTopic checks that s may be published to: non-empty, valid UTF-8 without
// NUL, no wildcard [MQTT-3.3.2-2], at most 65535 bytes. Errors wrap
// ErrInvalidTopic.
func ValidTopic(s string) error {
	if err := checkString(s, ErrInvalidTopic); err != nil {
		return err
	}
	if strings.ContainsAny(s, "+#") {
		return fmt.Errorf("%w: %q: a topic name has no wildcards", ErrInvalidTopic, s)
	}
	return nil
}

// checkString applies the rules common to topic names and filters.
func checkString(s string, kind error) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", kind)
	case len(s) > maxTopicLen:
		return fmt.Errorf("%w: %d bytes, at most %d", kind, len(s), maxTopicLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %q: not valid UTF-8", kind, s)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %q: holds NUL", kind, s)
	}
	return nil
}

// Covers reports whether every topic that inner matches is also matched by
// outer, so "sensors/#" covers "sensors/+/temp" and "sensors", and "a/+"
// covers "a/b" but not "a/#". A shared outer covers only inner filters of the
// same group; an unshared outer judges a shared inner by its inner filter. A
// leading wildcard of outer does not cover a first level starting with '$'
// [MQTT-4.7.2-1]. A filter covers itself.
func Covers(outer, inner Filter) bool {
	if outer.Shared() && outer.Group != inner.Group {
		return false
	}
	o, in := outer.Levels, inner.Levels
	if len(o) > 0 && len(in) > 0 && (o[0] == "+" || o[0] == "#") && strings.HasPrefix(in[0], "$") {
		return false
	}
	for i, l := range o {
		if l == "#" {
			return true // the rest of inner, zero or more levels
		}
		if i >= len(in) {
			return false
		}
		switch {
		case in[i] == "#":
			return false // inner spans levels outer's single level does not
		case l == "+":
		case l != in[i]:
			return false // a literal covers only the same literal
		}
	}
	return len(in) == len(o)
}

// Matches reports whether filter f matches topic name t (t must be valid; see
// ValidTopic). It is Covers with t as a filter without wildcards.
func Matches(f Filter, t string) bool {
	return Covers(Filter{Levels: f.Levels}, Filter{Levels: strings.Split(t, "/")})
}
