package engine

import (
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
)

// Back-pressure on a session's QoS 1/2 queue. A connected subscriber whose
// in-flight window is full keeps the messages after it in its session
// queue, bounded by limits.max_queued_bytes; past the bound they are
// dropped. A publisher flooding such a subscriber (fan-in) would overrun the
// bound long before the subscriber's acks free the window, so the publisher
// is paused instead (its socket is not read, TCP pushes back) once the
// queue holds half the bound, until the queue is down to a quarter or the
// connection goes. The pause lasts while the subscriber makes progress:
// a subscriber that has acked nothing (and not attached) for
// limits.slow_subscriber_wait is slow, its publishers are no longer held
// and the bound drops what passes it (counted as DropQueuedBytes).
// Every function here runs with s.mu held.

// queueHigh and queueLow are the pause and release marks, in bytes.
func (s *session) queueHigh() int64 { return s.e.cfg.MaxQueuedBytes / 2 }
func (s *session) queueLow() int64  { return s.e.cfg.MaxQueuedBytes / 4 }

// holdPublisher pauses pub while s's queue is past its high mark and its
// client reads; cl is s's live connection.
func (s *session) holdPublisher(b *transport.Batch, pub, cl *client) {
	e := s.e
	if pub == nil || b == nil || pub == cl || e.cfg.SlowSubscriberWait == 0 ||
		e.cfg.MaxQueuedBytes == 0 || s.queued < s.queueHigh() {
		return
	}
	if time.Duration(now().UnixMilli()-s.ackAt)*time.Millisecond >= e.cfg.SlowSubscriberWait {
		return // slow: no progress for slow_subscriber_wait
	}
	if s.full == nil {
		s.full = make(chan struct{})
	}
	pub.conn.Pause(b, s.full, e.cfg.SlowSubscriberWait)
}

// releaseQueue lets the paused publishers go once the queue is below its
// low mark, or at once with force (the connection went).
func (s *session) releaseQueue(force bool) {
	if s.full != nil && (force || s.queued < s.queueLow()) {
		close(s.full)
		s.full = nil
	}
}
