package engine

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// index is what the engine needs of a subscription and retained-message
// index; trie is the one implementation (a compact tree of topic levels). It
// is an interface so the index can be replaced (a sharded or cluster-aware
// one) without touching sessions. Every method is safe for concurrent use and
// calls fn without holding a session lock of its own.
type index interface {
	// subscribe adds or replaces s's subscription to filter (shared filters
	// as "$share/{group}/{filter}"); it reports whether one existed.
	subscribe(s *session, filter string, o subOpts) bool
	// unsubscribe removes it and reports whether it existed.
	unsubscribe(s *session, filter string) bool
	// match appends to dst every subscription matching topic; of each
	// shared group, one member, chosen round robin. Nothing is called under
	// the index's lock, so callers may then lock sessions.
	match(topic string, dst []subRef) []subRef
	// retain stores m as the retained message of its topic (an empty
	// payload deletes it).
	retain(m *message)
	// retained appends every retained message matching filter to dst.
	retained(filter string, dst []*message) []*message
	// counts returns the number of subscriptions and retained messages.
	counts() (subs, retained int)
	// matchesOther reports whether a subscription of a session other than
	// client id except matches topic (any shared group member counts),
	// without moving a group's round robin.
	matchesOther(topic, except string) bool
	// matchServed is match where only the shared groups serve accepts are
	// chosen from (a message forwarded by another node, topics_route.go).
	matchServed(topic string, serve func(group string) bool, dst []subRef) []subRef
	// sharedGroups returns the shared groups whose filter matches topic.
	sharedGroups(topic string) []string
}

// subOpts are one subscription's options, packed (a session holds one per
// filter and the trie one per subscriber).
type subOpts struct {
	id     uint32 // subscription identifier, 0 = none
	qos    byte
	rh     byte // retain handling 0, 1, 2
	noLoc  bool
	rap    bool // retain as published
	shared bool
}

type subRef struct {
	s *session
	o subOpts
}

type shareGroup struct {
	members []subRef
	next    atomic.Uint32
}

type node struct {
	children map[string]*node // lazily created
	subs     []subRef
	shared   map[string]*shareGroup // lazily created
	ret      *message
	parent   *node
	key      string
}

// trie is the index: one RWMutex over a tree of levels. Publishing takes the
// read lock; (un)subscribing and retaining take the write lock.
type trie struct {
	mu   sync.RWMutex
	root node
	subs int // subscriptions, shared members included ($SYS)
	rets int // retained messages ($SYS)
}

func (t *trie) counts() (subs, retained int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.subs, t.rets
}

func newTrie() *trie { return &trie{} }

// shareSplit splits "$share/{group}/{filter}"; ok is false if filter is not
// a shared one.
func shareSplit(filter string) (group, f string, ok bool) {
	rest, ok := strings.CutPrefix(filter, "$share/")
	if !ok {
		return "", filter, false
	}
	group, f, ok = strings.Cut(rest, "/")
	return group, f, ok
}

func (t *trie) walk(f string, create bool) *node {
	n := &t.root
	for {
		lvl, rest, more := strings.Cut(f, "/")
		c := n.children[lvl]
		if c == nil {
			if !create {
				return nil
			}
			if n.children == nil {
				n.children = make(map[string]*node, 1)
			}
			c = &node{parent: n, key: lvl}
			n.children[lvl] = c
		}
		n = c
		if !more {
			return n
		}
		f = rest
	}
}

// prune removes empty nodes from n up.
func (t *trie) prune(n *node) {
	for n != &t.root && n.parent != nil && len(n.children) == 0 && len(n.subs) == 0 && len(n.shared) == 0 && n.ret == nil {
		delete(n.parent.children, n.key)
		if len(n.parent.children) == 0 {
			n.parent.children = nil
		}
		n = n.parent
	}
}

func (t *trie) subscribe(s *session, filter string, o subOpts) bool {
	group, f, shared := shareSplit(filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.walk(f, true)
	if shared {
		o.shared = true
		if n.shared == nil {
			n.shared = make(map[string]*shareGroup, 1)
		}
		g := n.shared[group]
		if g == nil {
			g = &shareGroup{}
			n.shared[group] = g
		}
		for i := range g.members {
			if g.members[i].s == s {
				g.members[i].o = o
				return true
			}
		}
		g.members = append(g.members, subRef{s, o})
		t.subs++
		return false
	}
	for i := range n.subs {
		if n.subs[i].s == s {
			n.subs[i].o = o
			return true
		}
	}
	n.subs = append(n.subs, subRef{s, o})
	t.subs++
	return false
}

func removeRef(refs []subRef, s *session) ([]subRef, bool) {
	for i := range refs {
		if refs[i].s == s {
			last := len(refs) - 1
			refs[i] = refs[last]
			refs[last] = subRef{}
			refs = refs[:last]
			if len(refs) == 0 {
				refs = nil
			}
			return refs, true
		}
	}
	return refs, false
}

func (t *trie) unsubscribe(s *session, filter string) bool {
	group, f, shared := shareSplit(filter)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.walk(f, false)
	if n == nil {
		return false
	}
	var ok bool
	if shared {
		g := n.shared[group]
		if g == nil {
			return false
		}
		g.members, ok = removeRef(g.members, s)
		if len(g.members) == 0 {
			delete(n.shared, group)
			if len(n.shared) == 0 {
				n.shared = nil
			}
		}
	} else {
		n.subs, ok = removeRef(n.subs, s)
	}
	if ok {
		t.subs--
	}
	t.prune(n)
	return ok
}

func (t *trie) match(topic string, dst []subRef) []subRef {
	t.mu.RLock()
	defer t.mu.RUnlock()
	// [MQTT-4.7.2-1] a topic starting with $ is not matched by a filter
	// starting with # or +.
	fn := func(s *session, o subOpts) { dst = append(dst, subRef{s, o}) }
	t.matchLevel(&t.root, topic, strings.HasPrefix(topic, "$"), func(n *node) { t.emit(n, fn, nil) })
	return dst
}

// emit calls fn for n's subscriptions and one member of each shared group
// (of those serve accepts, given the group's filter "$share/{group}/{filter}";
// nil: all).
func (t *trie) emit(n *node, fn func(s *session, o subOpts), serve func(shared string) bool) {
	for _, r := range n.subs {
		fn(r.s, r.o)
	}
	for name, g := range n.shared {
		if serve != nil && !serve(sharedFilter(name, n)) {
			continue
		}
		if k := len(g.members); k > 0 {
			// Round robin over the connected members; if none is
			// connected, the next member's session queues it.
			start := int(g.next.Add(1)-1) % k
			r := g.members[start]
			for i := range k {
				if m := g.members[(start+i)%k]; m.s.online.Load() {
					r = m
					break
				}
			}
			fn(r.s, r.o)
		}
	}
}

// matchLevel calls visit for every node below n whose filter matches topic
// (one level at a time: n's children match topic's first level).
func (t *trie) matchLevel(n *node, topic string, dollar bool, visit func(n *node)) {
	lvl, rest, more := strings.Cut(topic, "/")
	if !dollar {
		if h := n.children["#"]; h != nil {
			visit(h) // # matches this level and everything below
		}
		if p := n.children["+"]; p != nil {
			if more {
				t.matchLevel(p, rest, false, visit)
			} else {
				visit(p)
				if h := p.children["#"]; h != nil {
					visit(h) // "a/+/#" matches "a/b" [MQTT-4.7.1-2]
				}
			}
		}
	}
	c := n.children[lvl]
	if c == nil {
		return
	}
	if more {
		t.matchLevel(c, rest, false, visit)
		return
	}
	visit(c)
	if h := c.children["#"]; h != nil {
		visit(h) // "a/#" matches "a" [MQTT-4.7.1-2]
	}
}

func (t *trie) retain(m *message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(m.payload) == 0 { // [MQTT-3.3.1-6] [MQTT-3.3.1-7]
		if n := t.walk(m.topic, false); n != nil {
			if n.ret != nil {
				t.rets--
			}
			n.ret = nil
			t.prune(n)
		}
		return
	}
	n := t.walk(m.topic, true)
	if n.ret == nil {
		t.rets++
	}
	n.ret = m
}

func (t *trie) retained(filter string, dst []*message) []*message {
	t.mu.RLock()
	defer t.mu.RUnlock()
	t.retainedLevel(&t.root, filter, true, func(m *message) { dst = append(dst, m) })
	return dst
}

func (t *trie) retainedLevel(n *node, f string, first bool, fn func(m *message)) {
	lvl, rest, more := strings.Cut(f, "/")
	switch lvl {
	case "#":
		t.retainedAll(n, first, fn)
		return
	case "+":
		for k, c := range n.children {
			if first && strings.HasPrefix(k, "$") {
				continue // [MQTT-4.7.2-1]
			}
			t.retainedNext(c, rest, more, fn)
		}
		return
	}
	if c := n.children[lvl]; c != nil {
		t.retainedNext(c, rest, more, fn)
	}
}

func (t *trie) retainedNext(c *node, rest string, more bool, fn func(m *message)) {
	if more {
		if rest == "#" && c.ret != nil {
			fn(c.ret) // "a/#" matches "a"
		}
		t.retainedLevel(c, rest, false, fn)
	} else if c.ret != nil {
		fn(c.ret)
	}
}

// retainedAll calls fn for n's subtree below n (n itself is the parent
// level of "#").
func (t *trie) retainedAll(n *node, first bool, fn func(m *message)) {
	for k, c := range n.children {
		if first && strings.HasPrefix(k, "$") {
			continue // [MQTT-4.7.2-1]
		}
		if c.ret != nil {
			fn(c.ret)
		}
		t.retainedAll(c, false, fn)
	}
}

// validTopic reports whether name is a valid topic name for PUBLISH
// [MQTT-3.3.2-2] [MQTT-4.7.3-1] [MQTT-1.5.4-1] [MQTT-1.5.4-2].
func validTopic(name string) bool {
	return name != "" && !strings.ContainsAny(name, "+#\x00") && utf8.ValidString(name)
}

// validFilter reports whether f is a valid filter (shared ones included)
// [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1] [MQTT-4.8.2-1] [MQTT-4.8.2-2].
func validFilter(f string) bool {
	if f == "" || !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
		return false
	}
	if group, rest, shared := shareSplit(f); shared {
		if group == "" || strings.ContainsAny(group, "+#") || rest == "" {
			return false
		}
		f = rest
	} else if strings.HasPrefix(f, "$share/") || f == "$share" {
		return false
	}
	for {
		lvl, rest, more := strings.Cut(f, "/")
		if strings.ContainsAny(lvl, "+#") && len(lvl) > 1 {
			return false
		}
		if lvl == "#" && more {
			return false
		}
		if !more {
			return true
		}
		f = rest
	}
}
