package mqtttopic

import "strings"

// ExceedsLevels reports whether topic (a topic name or filter) has more than
// max levels (max-1 '/' separators). It reads each byte at most once and
// stops at the first separator past the bound, so a refusal costs O(max) and
// an acceptance O(len(topic)). limits.max_topic_levels is checked with it on
// both engine paths.
func ExceedsLevels(topic string, max int) bool {
	seps := 0
	for {
		i := strings.IndexByte(topic, '/')
		if i < 0 {
			return false
		}
		seps++
		if seps >= max {
			return true
		}
		topic = topic[i+1:]
	}
}
