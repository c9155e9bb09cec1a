package route

import (
	"strings"
	"sync"

	"github.com/imqtt/imqtt/internal/mqtttopic"
)

// table holds the routes the other nodes advertised: for each filter, the
// nodes that advertised it. A shared subscription "$share/{group}/{filter}"
// is matched by its inner filter and reported under its whole filter (the
// name the engine's SharedGroups and DeliverForwarded use). It is a trie by
// topic level, safe for concurrent use (forward matches without Router.mu).
type table struct {
	mu   sync.RWMutex
	root tnode
}

// tnode is one topic level of the trie.
type tnode struct {
	children map[string]*tnode
	plain    map[string]struct{}            // nodes whose plain filter ends here
	shared   map[string]map[string]struct{} // whole shared filter -> nodes
}

func (n *tnode) empty() bool {
	return len(n.children) == 0 && len(n.plain) == 0 && len(n.shared) == 0
}

// matches is what a topic matches: the nodes with a plain route and, per
// shared filter, the nodes that advertised it.
type matches struct {
	plain  map[string]struct{}
	shared map[string]map[string]struct{}
}

// add records that node id advertised filter. A malformed shared filter is
// ignored (the engine refuses those at SUBSCRIBE).
func (t *table) add(id, filter string) {
	inner, share, ok := splitFilter(filter)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := &t.root
	for _, l := range strings.Split(inner, "/") {
		c := n.children[l]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*tnode{}
			}
			c = &tnode{}
			n.children[l] = c
		}
		n = c
	}
	if share == "" {
		if n.plain == nil {
			n.plain = map[string]struct{}{}
		}
		n.plain[id] = struct{}{}
		return
	}
	if n.shared == nil {
		n.shared = map[string]map[string]struct{}{}
	}
	if n.shared[share] == nil {
		n.shared[share] = map[string]struct{}{}
	}
	n.shared[share][id] = struct{}{}
}

// remove forgets that node id advertised filter, pruning emptied levels.
func (t *table) remove(id, filter string) {
	inner, share, ok := splitFilter(filter)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	removeAt(&t.root, strings.Split(inner, "/"), id, share)
}

func removeAt(n *tnode, levels []string, id, share string) {
	if len(levels) == 0 {
		if share == "" {
			delete(n.plain, id)
			return
		}
		if m := n.shared[share]; m != nil {
			delete(m, id)
			if len(m) == 0 {
				delete(n.shared, share)
			}
		}
		return
	}
	c := n.children[levels[0]]
	if c == nil {
		return
	}
	removeAt(c, levels[1:], id, share)
	if c.empty() {
		delete(n.children, levels[0])
	}
}

// match returns the routes matching topic: '+' matches one level, '#' the
// rest (and the level above it), and a topic whose first level starts with
// '$' is not matched by a wildcard there [MQTT-4.7.2-1].
func (t *table) match(topic string) matches {
	var m matches
	levels := strings.Split(topic, "/")
	t.mu.RLock()
	defer t.mu.RUnlock()
	matchAt(&t.root, levels, 0, &m)
	return m
}

func matchAt(n *tnode, levels []string, i int, m *matches) {
	dollar := i == 0 && strings.HasPrefix(levels[0], "$")
	if !dollar {
		if c := n.children["#"]; c != nil {
			m.collect(c)
		}
	}
	if i == len(levels) {
		m.collect(n)
		return
	}
	if c := n.children[levels[i]]; c != nil {
		matchAt(c, levels, i+1, m)
	}
	if !dollar {
		if c := n.children["+"]; c != nil {
			matchAt(c, levels, i+1, m)
		}
	}
}

// collect adds the routes that end at n.
func (m *matches) collect(n *tnode) {
	for id := range n.plain {
		if m.plain == nil {
			m.plain = map[string]struct{}{}
		}
		m.plain[id] = struct{}{}
	}
	for f, ids := range n.shared {
		if m.shared == nil {
			m.shared = map[string]map[string]struct{}{}
		}
		if m.shared[f] == nil {
			m.shared[f] = map[string]struct{}{}
		}
		for id := range ids {
			m.shared[f][id] = struct{}{}
		}
	}
}

// splitFilter returns the filter to match and, for a shared subscription,
// its whole filter ("" for a plain one); ok is false for a malformed share.
func splitFilter(filter string) (inner, share string, ok bool) {
	_, in, isShare, err := mqtttopic.ParseShared(filter)
	switch {
	case err != nil:
		return "", "", false
	case isShare:
		return in, filter, true
	}
	return filter, "", true
}
