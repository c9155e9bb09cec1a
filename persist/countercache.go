package persist

import "encoding/binary"

// Counter cache. OpAppendRaw, OpMaxRaw and OpIncrRaw read 8-byte counters (a
// conversation's last seq, receipt cursors) on every IM send; once Badger has
// flushed them to tables each read is a table seek (a quarter of the broker's
// CPU in the IM chat benchmark). Each generation keeps the counters Apply has
// read or written, and readRawCounter answers from it.
//
// Coherence: every write of Apply goes through txnWriter.set or del, which
// stage the key's new state (an 8-byte value without TTL is a counter; anything
// else, or a delete, drops the key from the cache); the staged states are
// published to the generation only when the whole entry committed. A Restore
// starts a generation with an empty cache. So a cached value is always the
// committed one, and Apply's results are the same with or without the cache
// (deterministic). Only the writer (under Store.wmu) touches it.

// maxCachedCounters bounds a generation's cache; past it the cache starts over.
const maxCachedCounters = 1 << 20

// counterState is a staged cache state: ok false means "not cached".
type counterState struct {
	v  uint64
	ok bool
}

// cachedCounter returns key's cached counter value, if any.
func (w *txnWriter) cachedCounter(key []byte) (uint64, bool) {
	if s, ok := w.counterStaged[string(key)]; ok {
		return s.v, s.ok
	}
	v, ok := w.counterBase[string(key)]
	return v, ok
}

// stageCounter records key's state after this entry.
func (w *txnWriter) stageCounter(key []byte, s counterState) {
	if w.counterStaged == nil {
		w.counterStaged = make(map[string]counterState)
	}
	w.counterStaged[string(key)] = s
}

// noteWrite stages the cache effect of writing val (nil: a delete) to key.
func (w *txnWriter) noteWrite(key, val []byte, expiresAt uint64) {
	if !IsRawKey(key) {
		return
	}
	if val != nil && len(val) == 8 && expiresAt == 0 {
		w.stageCounter(key, counterState{v: binary.BigEndian.Uint64(val), ok: true})
		return
	}
	w.stageCounter(key, counterState{})
}

// publishCounters moves the staged states of a committed entry into g.
func (g *gen) publishCounters(staged map[string]counterState) {
	if len(staged) == 0 {
		return
	}
	if g.counters == nil || len(g.counters)+len(staged) > maxCachedCounters {
		g.counters = make(map[string]uint64, len(staged))
	}
	for k, s := range staged {
		if s.ok {
			g.counters[k] = s.v
		} else {
			delete(g.counters, k)
		}
	}
}
