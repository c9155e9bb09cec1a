// Package route is the cluster's publish routing: it forwards each accepted
// PUBLISH once to every other node whose clients subscribed to a matching
// filter, over one persistent, batched link per peer on the cluster port
// (cluster.ConnLink), and delivers what other nodes forward on this one.
//
// # The engine side

// The links, the route table (the filters each peer advertised, table.go),
// the frames (codec.go) and the forwarding decision (forward.go) are the
// router's. On its own node the Router is the engine's ext.Router
// (engine.go: engine.Options.Router, then StartEngine). The engine's index
// reports each subscription entering and leaving it (RouteAdded and
// RouteRemoved, every clean session; durable sessions are replicated
// through the store and not routed, broker/engine doc.go "Durable sessions
// in a cluster"), Forward gets each client publish and will after its local
// routing, Connected each connect; the router calls the engine's
// ext.RouteTarget: DeliverForwarded, TakeOver, SharedGroups. Nothing of the
// router blocks an engine worker (below). (Until issue 17 removed it, the
// router was also a mochi hook.)
//
// # What travels where
//
//   - Clean sessions (and QoS 0 to them): routed here. Each node advertises
//     the filters its connected clean-session clients subscribed to (counted:
//     a filter is announced when its first local subscriber appears and
//     withdrawn with the last); a link starts with the full set, then deltas.
//     A publish accepted on a node (a publish the durable layer refused, or
//     one the IM server consumed, never gets here) is encoded once and
//     queued on the links of the peers whose routes match its topic. The
//     receiving engine delivers it to its local subscribers
//     (DeliverForwarded), with the usual ACL checks on delivery.
//   - Persistent sessions: not routed here. Their sessions, subscriptions and
//     queues are replicated through raft (hooks/storage), every node matches
//     publishes against them and enqueues durably; the node the session is
//     connected to delivers from the replicated queue. Forwarded publishes
//     are not enqueued again by the receiving engine, so nothing is enqueued
//     twice.
//   - Retained messages: replicated through raft (hooks/storage keeps each
//     node's retained index in step); forwarded publishes carry no retain
//     flag, so a node's index only changes in log order.
//   - Wills: the engine delivers a will locally and Forwards it.
//   - Shared subscriptions: one member per group cluster-wide. The origin
//     node serves a group when its own index has members of it
//     (SharedGroups); otherwise the lowest-id node that advertised the group
//     does. Each publish frame names the groups its receiver serves, and
//     DeliverForwarded serves only those on the receiving node. Within the
//     serving node the usual per-node selection applies (no balancing across
//     nodes).
//   - Takeover: Connected tells every peer that a client id connected here
//     (with the time); a peer where the same id has an older connection
//     disconnects it with 0x8E (TakeOver) and ends the older session there
//     (its will is published).
//
// # Links
//
// One outbound link per other member of the raft configuration (re-read every
// PeerInterval): hello (node id), the full route set, then route changes,
// publishes and takeovers, written by one goroutine that takes the whole
// queue, writes it and flushes (batching under load). Back-pressure: a QoS 0
// publish is dropped when the peer's queue holds QueueLen frames; a QoS 1/2
// publish is queued up to 2 x QueueLen and the engine pauses the publisher's connection on the link's room channel (the
// transport's Pause, up to limits.slow_subscriber_wait). Control frames
// (routes, takeovers) never wait: past 2 x QueueLen the link is reset and
// resends the full set. Links are one-way: a node forwards to a peer only
// once its own link to it is up (dialled by the membership loop, every
// PeerInterval), which may be after that peer's routes arrived. A link that breaks is
// re-dialled with backoff; forwards are dropped while it is down (clean
// sessions on an unreachable node are lost with it anyway). The inbound side
// accepts links only from members; when a link ends or its node leaves the
// configuration, that node's routes are forgotten.
//
// # Ownership
//
// The router owns its links' goroutines and the membership loop; Close
// stops them and waits. The inbound links run on the cluster node's
// connections (the node owns those goroutines); Close closes them. Build it
// with New, give it to the engine, StartEngine it.
//
// # Limits
//
//   - A subscription takes effect on other nodes once its route arrived (for
//     clean sessions) or its raft entry was applied there (persistent
//     sessions): normally a few milliseconds; a publish through another node
//     in that window may miss it.
//   - Retain As Published is lost on other nodes (forwards carry no retain
//     flag).
package route
