package engine

import "strings"

// matchesOther implements index.matchesOther over the same walk as match.
func (t *trie) matchesOther(topic, except string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	found := false
	t.matchLevel(&t.root, topic, strings.HasPrefix(topic, "$"), func(n *node) {
		if found {
			return
		}
		for _, g := range n.shared {
			if len(g.members) > 0 {
				found = true
				return
			}
		}
		for _, r := range n.subs {
			if r.s.id != except {
				found = true
				return
			}
		}
	})
	return found
}
