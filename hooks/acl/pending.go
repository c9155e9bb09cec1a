package acl

import (
	"sync"
	"unsafe"

	mqtt "github.com/mochi-mqtt/server/v2"
)

// pending tells a SUBSCRIBE check from a delivery check. mochi calls
// OnACLCheck(cl, s, false) for both: with each filter of a SUBSCRIBE (in the
// client's read goroutine, between OnSubscribe and OnSubscribed), and with the
// topic name of every message delivered to the client (from any goroutine).
// For a literal s the two are indistinguishable by value, and they differ in
// what they need: the subscribe bit for the filter, the read bit for a delivery.
//
// OnSubscribe records the literal filters of the packet by identity: the string
// headers mochi passes on to OnACLCheck point into the SUBSCRIBE packet's own
// freshly allocated buffer, which the record keeps alive, so no other string
// (a delivery's topic name comes from another packet or from mochi's own
// constants) can share that data pointer. OnACLCheck consumes an entry only if
// both the bytes and the data pointer match; anything else is judged as a
// delivery. A filter mochi checks without a matching entry (another hook
// replaced it) is judged with the read check, which for a literal filter is
// never more permissive than the subscribe check: the failure mode is a denial.
type pending struct {
	m sync.Map // *mqtt.Client -> *clientPending
}

// clientPending is the literal filters of one client's SUBSCRIBE in progress.
type clientPending struct {
	mu      sync.Mutex
	filters []string
}

// open records the literal filters of the SUBSCRIBE being processed for cl,
// replacing any earlier record (a client processes one packet at a time).
func (p *pending) open(cl *mqtt.Client, filters []string) {
	if len(filters) == 0 {
		p.m.Delete(cl)
		return
	}
	p.m.Store(cl, &clientPending{filters: filters})
}

// close forgets cl's record.
func (p *pending) close(cl *mqtt.Client) { p.m.Delete(cl) }

// take consumes cl's entry that is the very string s (same bytes, same data
// pointer) and reports whether there was one.
func (p *pending) take(cl *mqtt.Client, s string) bool {
	v, ok := p.m.Load(cl)
	if !ok || s == "" {
		return false
	}
	cp := v.(*clientPending)
	cp.mu.Lock()
	defer cp.mu.Unlock()
	for i, f := range cp.filters {
		if len(f) == len(s) && unsafe.StringData(f) == unsafe.StringData(s) {
			last := len(cp.filters) - 1
			cp.filters[i] = cp.filters[last]
			cp.filters[last] = ""
			cp.filters = cp.filters[:last]
			return true
		}
	}
	return false
}

// clear forgets every record (Stop).
func (p *pending) clear() { p.m.Clear() }

// len returns the number of clients with a record (tests).
func (p *pending) len() int {
	n := 0
	p.m.Range(func(any, any) bool { n++; return true })
	return n
}
