package im

import (
	"sync"
)

// convIndexCacheMax bounds indexedConvs; past it the cache starts over.
const convIndexCacheMax = 1 << 17

// indexedConvs remembers the direct-conversation index entries
// (userConvKey) known to exist, so a send does not read them from the store
// every time. Direct entries are only ever added (PutRawIfAbsent): once seen,
// an entry stays. Safe for concurrent use.
type indexedConvs struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func (c *indexedConvs) has(key []byte) bool {
	c.mu.Lock()
	_, ok := c.keys[string(key)]
	c.mu.Unlock()
	return ok
}

func (c *indexedConvs) add(key []byte) {
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= convIndexCacheMax {
		c.keys = make(map[string]struct{})
	}
	c.keys[string(key)] = struct{}{}
	c.mu.Unlock()
}
