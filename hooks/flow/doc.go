// Package flow is the mochi hook that turns a full subscriber queue into
// back-pressure on the publisher instead of a dropped message.
//
// mochi hands every delivery to the subscriber's outbound queue
// (limits.max_queued_writes packets) without waiting: when the queue is full the
// message is dropped, and a QoS 1/2 delivery beyond the subscriber's in-flight
// window (limits.max_inflight) is dropped too. A fan-in flood of publishers to one
// subscriber therefore loses whatever the subscriber's socket cannot take, QoS 0
// and acknowledged QoS 1 alike, while mosquitto (single-threaded) simply runs the
// publishers at the subscriber's pace.
//
// The hook waits instead. mochi asks the ACL hooks whether a subscriber may read
// a topic right before it enqueues each delivery (publishToClient calls
// OnACLCheck(subscriber, topic, false) in the goroutine that handles the
// publisher's packet). The hook provides OnACLCheck, never grants anything (it
// returns false, so the real ACL hook, which comes after it, decides), and, when
// the subscriber's outbound queue or in-flight window is full, holds that
// goroutine until the subscriber has drained to three quarters. The publisher's
// next packets then wait in its own socket, so TCP carries the back-pressure to
// the publishing client: a flood runs at the pace of the slowest reader and
// nothing is dropped.
//
// A subscriber that does not read at all must not stall its publishers for ever:
// after Config.MaxWait the subscriber is marked slow, logged once, and counted;
// nobody waits for it again (its deliveries are dropped as before) until its
// queue has drained. Its publishers therefore stall at most MaxWait per episode.
// MaxWait 0 turns the hook off.
//
// The wait applies to every delivery mochi makes through publishToClient: client
// publishes, retained messages sent on SUBSCRIBE (in the subscriber's own
// goroutine, whose writer drains independently), IM deliveries (the sender's
// goroutine) and publishes forwarded by other cluster nodes (the link's reader:
// a stalled local subscriber holds that link for at most MaxWait, then is slow).
// A client is never made to wait for its own queue from its own publish.
//
// # Bytes
//
// The queue is also bounded in bytes (Config.MaxQueuedBytes,
// limits.max_queued_bytes): a packet bound does not bound memory (800 queued
// 256 KiB messages are 200 MiB). mochi's enqueue has no hook that sees the
// packet, so the hook counts per client (by client id, for the connection it
// saw):
//
//   - in: in OnACLCheck, the bytes of the delivery (packetBytes: topic,
//     payload, the publisher's properties, plus 16). The size comes from the
//     Tap, a second hook added after every other one: its OnPublish records
//     the size of the publish mochi is about to deliver under its topic,
//     which mochi passes to OnACLCheck for each subscriber, and OnPublished
//     (or the publisher's OnDisconnect) forgets it. Publishes to one topic in
//     delivery at the same time share an entry with the largest size (an
//     over-count, never an under-count).
//     A retained message sent on SUBSCRIBE has no recorded size and is not
//     counted (the packet bound still applies).
//   - out: OnPacketSent for a written PUBLISH and OnPublishDropped for one mochi
//     dropped (same function, so the same count); an empty outbound queue
//     counts zero, which also clears deliveries that were counted and then not
//     queued (refused by the ACL, or mochi's in-flight quota).
//
// A delivery that would take the client past the bound (one to an empty queue
// always goes) waits, as for the packet bound, until it fits or MaxWait
// passes; then the client is marked slow (logged once, counted) and the
// delivery is refused: Dropping(clientID) is true, and the broker's ACL
// policy built on it vetoes that delivery (the ACL is asked right after this
// hook), so mochi does not queue it. Each refusal is counted with
// Observer.LimitRefused(LimitQueuedBytes) and Observer.QueuedBytesDropped. The
// count is approximate by what concurrent deliveries add between the empty
// check and their enqueue, and over-counts a packet written with a topic alias
// by its topic until the queue empties. Clients for which Options.Bypass is
// true (persistent sessions, written by hooks/storage's pump, not through
// mochi's queue) are not counted.
package flow
