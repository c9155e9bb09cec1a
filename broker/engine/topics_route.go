package engine

import (
	"strings"

	"github.com/imqtt/imqtt/hooks/ext"
)

// matchServed is match for a message another node forwarded: of the shared
// groups matching topic, only those serve accepts are chosen from.
func (t *trie) matchServed(topic string, serve func(group string) bool, dst []subRef) []subRef {
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn := func(s *session, o subOpts) { dst = append(dst, subRef{s, o}) }
	t.matchLevel(&t.root, topic, strings.HasPrefix(topic, "$"), func(n *node) { t.emit(n, fn, serve) })
	return dst
}

// sharedGroups returns the shared groups with a member whose filter
// matches topic, as "$share/{group}/{filter}", each once.
func (t *trie) sharedGroups(topic string) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	t.matchLevel(&t.root, topic, strings.HasPrefix(topic, "$"), func(n *node) {
		for name, g := range n.shared {
			if f := sharedFilter(name, n); len(g.members) > 0 && !containsStr(out, f) {
				out = append(out, f)
			}
		}
	})
	return out
}

// sharedFilter is the filter of group at node n: "$share/{group}/{levels
// from the root to n}" (t.mu held).
func sharedFilter(group string, n *node) string {
	var lv []string
	for ; n != nil && n.parent != nil; n = n.parent {
		lv = append(lv, n.key)
	}
	var b strings.Builder
	b.WriteString("$share/")
	b.WriteString(group)
	for i := len(lv) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(lv[i])
	}
	return b.String()
}

func containsStr(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// routedIndex is the index of an engine in a cluster: it tells the Router
// about every subscription that appears in or leaves the index (once per
// session and filter), so the router advertises this node's filters.
// Durable sessions' subscriptions are not routed: every node holds them
// (mirror.go) and writes their copies through the store. Its
// calls run under the session's lock (and the table's, at a session's end):
// ext.Router's RouteAdded and RouteRemoved do not block.
type routedIndex struct {
	index
	r ext.Router
}

func (x routedIndex) subscribe(s *session, filter string, o subOpts) bool {
	existed := x.index.subscribe(s, filter, o)
	if !existed && !s.durable {
		x.r.RouteAdded(filter)
	}
	return existed
}

func (x routedIndex) unsubscribe(s *session, filter string) bool {
	ok := x.index.unsubscribe(s, filter)
	if ok && !s.durable {
		x.r.RouteRemoved(filter)
	}
	return ok
}
