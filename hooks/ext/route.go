package ext

// Cluster routing (issue 17): with Options.Router set, the engine tells a
// Router what other nodes need to know of this one, and the Router calls
// back into the engine (a RouteTarget) for what other nodes sent.
// hooks/route implements Router over its links on the cluster port; the
// engine implements RouteTarget. What travels is the mochi path's (see
// hooks/route doc.go): the filters of this node's sessions, every accepted
// publish to the nodes with a matching filter, and connects (takeover).

// Router receives the engine's routing events. RouteAdded, RouteRemoved and
// Connected may be called under the engine's locks: they must not block
// (they queue and return). Every method is safe for concurrent use.
type Router interface {
	// RouteAdded: a session on this node subscribed to filter (as sent,
	// "$share/{group}/" included), once per session and filter; RouteRemoved
	// when that subscription ends (UNSUBSCRIBE, the session's end). The
	// router counts them and advertises a filter while its count is > 0.
	RouteAdded(filter string)
	RouteRemoved(filter string)
	// Forward sends m, accepted on this node and already routed to its local
	// subscribers, to every other node with a matching filter, and returns
	// how many nodes it was queued for. It is never called for a message
	// another node forwarded, nor for the server's own ($SYS). m is passed
	// by value (no allocation on a node without peers); its slices are not
	// modified and may be kept. It does not block: when a
	// link is full, a QoS 1/2 message is still queued (up to a hard bound)
	// and wait is a channel that closes when the link has room; the engine
	// then stops reading the publisher until it closes or
	// limits.slow_subscriber_wait passes. nil: no wait.
	Forward(m StoredMessage) (nodes int, wait <-chan struct{})
	// Connected: clientID connected on this node at unix nanoseconds at; an
	// older connection of that id on another node is taken over (0x8E).
	Connected(clientID string, at int64)
}

// RouteTarget is what a Router calls on the engine. Every method is safe
// for concurrent use and does not block on a client.
type RouteTarget interface {
	// DeliverForwarded delivers a message another node forwarded to this
	// node's subscribers, as a publish of that node's client would be
	// (AccessDeliver per subscriber), but updates no retained message
	// (Retain is ignored) and is not forwarded again. Of the shared
	// subscription groups matching its topic, only those named in groups
	// are served here, as "$share/{group}/{filter}" (the origin node or
	// another one serves the others).
	// It returns the number of sessions m was offered to.
	DeliverForwarded(m *StoredMessage, groups []string) int
	// TakeOver ends the connection of clientID on this node with DISCONNECT
	// 0x8E (3.1.1: a close) if it connected before unix nanoseconds at, as
	// a takeover on this node would (its will, the end of a session with
	// expiry 0). It reports whether a connection was ended.
	TakeOver(clientID string, at int64) bool
	// SharedGroups returns the shared subscription groups with members on
	// this node whose filter matches topic, as "$share/{group}/{filter}":
	// the origin node serves those itself.
	SharedGroups(topic string) []string
}
