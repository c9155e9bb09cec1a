package acl

import "strings"

// Topic names and filters are walked level by level in place: no split, no
// allocation. Levels may be empty ("a//b", "/a", "a/" are valid, MQTT 4.7.1).

// Shared subscriptions ("$share/{group}/{filter}") are parsed by
// internal/mqtttopic.ParseShared, the one parser of that syntax.

// nextLevel returns the level of s that starts at byte pos and the position of
// the level after it, or -1 if it was the last level.
func nextLevel(s string, pos int) (level string, next int) {
	if i := strings.IndexByte(s[pos:], '/'); i >= 0 {
		return s[pos : pos+i], pos + i + 1
	}
	return s[pos:], -1
}

// firstLevel returns the first level of s.
func firstLevel(s string) string {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// isSysLevel reports whether a first level names the $SYS tree. Any letter case
// counts: mochi refuses publishes to every case variant, and refusing reads of
// them too costs nothing (no client can publish there).
func isSysLevel(l string) bool { return strings.EqualFold(l, "$SYS") }

// startsWithDollar reports whether a topic level starts with '$'; such first
// levels are not matched by a leading wildcard [MQTT-4.7.2-1].
func startsWithDollar(l string) bool { return l != "" && l[0] == '$' }

// validTopicName reports whether s may be published to: non-empty, no
// wildcard, no NUL [MQTT-4.7.3-1] [MQTT-3.3.2-2] [MQTT-1.5.4-2].
func validTopicName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '+', '#', 0:
			return false
		}
	}
	return true
}

// validFilter reports whether s is a valid topic filter: non-empty, no NUL, '+'
// only as a whole level [MQTT-4.7.1-2], '#' only as the whole last level
// [MQTT-4.7.1-1].
func validFilter(s string) bool {
	if s == "" {
		return false
	}
	for pos := 0; pos >= 0; {
		var l string
		l, pos = nextLevel(s, pos)
		if !strings.ContainsAny(l, "+#\x00") {
			continue
		}
		if l == "+" || (l == "#" && pos < 0) {
			continue
		}
		return false
	}
	return true
}
