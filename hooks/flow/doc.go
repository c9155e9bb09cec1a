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
package flow
