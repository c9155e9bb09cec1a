// Package storage makes every persistent session (3.1.1 clean session
// false, MQTT 5 session expiry > 0) and every retained message survive a
// crash: EngineStore is the engine's ext.Store (and ext.SharedStore), which
// writes through the one replicated write path (an Applier, cluster.Node in
// production, whose state machine is persist) and reads this node's replica.
// Clean sessions stay in the engine's memory and never touch raft. Until
// issue 17 the package was also a mochi hook that delivered to persistent
// sessions itself; that path is gone.
//
// # What it owns
//
// EngineStore owns its sweep goroutine (stale fan-out stagings, on the
// leader), the queue bound's counters and its writes in flight. It does not
// own the Applier or the Store: the broker opens them before and closes them
// after it (engine, EngineStore, node, store).
//
// # Engine store (engine_*.go)
//
// EngineStore implements ext.Store, the engine's durable session store
// (broker/engine): the engine keeps sessions, windows and delivery; the
// store only writes and reads. Its parts, in core (core.go):
//
//   - apply: CheckSpace before proposing, Config.ApplyTimeout, cancelled by
//     EngineStore.Close; errors wrap the persist error and, for
//     persist.ErrDiskFull / persist.ErrQuotaExceeded, ext.ErrDiskFull /
//     ext.ErrQuotaExceeded too (the engine answers 0x97).
//   - the fan-out (fanout.go, "Fan-out" above), with a tail of ops written
//     in the last command (after the commit of a staged fan-out);
//   - the retained quota (retained.go, "Retained quota" above): a charged
//     update with a bound is applied alone, first, and a refusal is counted
//     and logged once a second;
//   - the queue bound (bound.go, "Queue bound" above): per client id,
//     loaded from QueueLen; a dropped copy is counted with
//     LimitObserver.LimitRefused(storage.queue_max_messages or
//     storage.queue_max_bytes) and warned at most once a second.
//
// Writes, one Applier command each unless a fan-out is staged:
//
//   - Publish: a copy per target (EnqueueOp with the copy's QoS, RETAIN flag
//     and sorted identifiers; expiry min(ExpiresAt, Created +
//     Config.Retention)), the retained update (owned/charged unless Inline;
//     an empty payload deletes) in the first command and the publisher's
//     inbound QoS 2 id (put_inflight, dir 'i') in the last, so a fan-out that
//     fails before its commit records no id that would make the re-sent
//     PUBLISH look delivered. A copy the queue bound drops gets seq 0; the
//     others are kept. Staged references get their seqs back through
//     persist.Store.RefSeqs (each target's QueueSeq is read before the
//     staging); a reference already dequeued when read back reports 0.
//   - Release: put_inflight (outbound, released) + dequeue_through; Complete
//     and CompleteInbound: delete_inflight. Dequeue: dequeue_through (shared
//     bodies released by persist).
//   - PutSession / DeleteSession, PutSubscriptions / DeleteSubscriptions:
//     one command each (none for an empty list).
//
// Dequeue, Release and DeleteSession make the queue bound forget the
// session: its count is re-read (QueueLen, a key scan of what is left) at
// its next copy, since the store does not know the sizes the engine
// dequeued.
//
// Reads use this node's replica: Sessions (sessions and subscriptions read
// first, fn called outside any transaction), Retained (streamed, expired
// ones left out), Queue (references resolved, expired ones left out),
// Flights (persist.Inflight: released outbound ids, inbound ids).
//
// Conversions (engine_convert.go): every PUBLISH property the store keeps
// round-trips (payload format, content type, response topic, correlation
// data, user properties in order); ExpiresAt is stored as the absolute
// expiry plus the interval it implies (records written before issue 17 by
// the removed mochi hook read the same way). A will keeps its Message
// Expiry Interval (its expiry starts when it is published; ext.Will).
// Queued copies carry the copy's QoS and RETAIN flag as the message's (the
// publish's own are not stored per copy).
//
// Life: NewEngineStore starts nothing; Start runs the leader's sweep of
// stale fan-out stagings (every Config.SweepInterval, when
// EngineOptions.IsLeader says so: StaleStaged, then DropStagedOp) in one
// owned goroutine; Close (idempotent) stops it, cancels writes in progress
// and fails later writes with ErrClosed. Session expiry is the engine's
// sweeper's (DeleteSession). Close the engine, then the EngineStore, then
// the node and the store.
//
// Cluster (engine_events.go): an EngineStore is an ext.SharedStore. Its
// Observe (the broker combines it with the IM service's into the store's
// observer) reports each applied entry to the engine's ext.StoreEvents in
// log order: other nodes' PutSession (records carry the writer's node id,
// EngineOptions.NodeID), other nodes' DeleteSession and Put- and
// DeleteSubscription (this store's own are matched to its writes in
// flight: a token per write, taken by the first entry whose first op has
// the same kind and client id), every Enqueue / EnqueueRef (with its seq),
// a CommitBody (a wake of every session), every retained update; a
// DequeueThrough makes the queue bound forget the session. Session reads
// one record and its subscriptions (the engine's resync after a takeover
// and its look-up before a CONNECT), Leader is EngineOptions.IsLeader
// (the engine expires sessions there only), Node the node id.
//
// Limits: a charged retained update with a bound is its own
// write before the copies: if the copies then fail, the retained message
// is stored and the publisher is refused (its re-send rewrites it).
//
// # Fan-out (fanout.go)
//
// When the copies would reach fanoutMinBytes (16 KiB, counting 128 bytes of
// overhead per copy), the message is stored once (persist.PutBodyOp)
// and each target gets a persist.EnqueueRefOp (about 40 bytes: its QoS,
// retain flag, identifiers); below that each target gets its own copy, in
// one command, as before. A target matched with more than 500 subscription
// identifiers gets a full copy (a reference holds at most 500). The ops are
// sized against Options.MaxCommandBytes (cluster.batch_max_bytes) minus 4 KiB.
// If the retained update, the body and every reference fit, that is one
// command. Otherwise the references are staged (persist.StageRefOp) over
// several commands, the first holding the retained update and the body, the
// next ones naming the body by the id the first returned, and the last
// ending with persist.CommitBodyOp, which enqueues them all in one op; the
// publisher is acknowledged after it. A failure before the commit leaves no
// queue with the message: the store proposes persist.DropStagedOp, the
// leader's sweep drops stagings left by a crash once they expired
// (Store.StaleStaged), and the publisher's re-send reaches every target once.
// Full copies (targets with more than 500 identifiers) go into the last
// commands; only those that do not fit there are visible before the commit.
// Staged targets get their seqs back through persist.Store.RefSeqs (see
// "Writes" below); Queue resolves references, and acks (DequeueThrough),
// session deletion and expiry release them in persist.
//
// No other user's state can refuse a publish: a full queue drops the new
// message for that session only (below), an oversized reference becomes a
// copy, and the ACL only skips a target. What can refuse it is the
// publisher's own message or quota, or the node (disk full, no quorum,
// timeout).
//
// # Retained quota (retained.go)
//
// Options.Retained bounds each user's retained messages (count and
// topic+payload bytes), charged in the replicated store by
// persist.PutRetainedOwnedOp, so the bound is cluster-wide and every node
// decides alike. Anonymous clients share the owner ""; the server's own
// publishes (presence, admin API: ext.StoredMessage.Inline) are not
// charged. A charged update with a bound is applied in its own command before
// the copies: a refusal (persist.ErrQuotaExceeded) leaves nothing written.
// Then the engine answers the publisher (ext.ErrQuotaExceeded: an MQTT 5
// QoS 1/2 publisher gets 0x97). Every refusal is counted with Options.Limits
// (retained.max_per_user / retained.max_bytes_per_user) and logged at most
// once a second.
//
// # Queue bound (bound.go)
//
// Drop-new: a message for a session whose queue already holds
// QueueMaxMessages messages or QueueMaxBytes bytes (topic + payload) is not
// enqueued for that session, with a warning; the publisher is still
// acknowledged and the other targets still get it. Refusing the publish
// instead would let one slow or dead subscriber block every publisher of a
// topic (and, for 3.1.1 publishers, disconnect them). The counters are kept in
// memory, loaded from Store.QueueLen on first use; expiry makes them
// over-count until the engine dequeues.
//
// # Limits
//
// A session connected to a node that dies stays "connected" in the store
// until its client reconnects somewhere or the engine of another node
// learns of it (broker/engine doc.go "Durable sessions in a cluster").
package storage
