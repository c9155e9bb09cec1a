// Package storage is the durable-session hook: it makes every persistent
// session (3.1.1 clean session false, MQTT 5 session expiry > 0) survive a
// crash by writing its state through the one replicated write path (an
// Applier, cluster.Node in production, whose state machine is persist), and
// it takes over delivery to those sessions from mochi. Clean sessions are left
// to mochi and never touch raft.
//
// # What it owns
//
// The hook owns, for the persistent sessions of this node: the in-memory
// registry of sessions (which client ids it delivers to), one pump goroutine
// per connected persistent session, and the expiry sweep goroutine. It does not
// own the Applier, the Store, the server or the ACL: the broker opens them
// before and closes them after the hook (server.Close stops the hook; then
// close the node, then the store).
//
// # Write path: PUBLISH -> Apply -> fsync -> PUBACK
//
//  1. mochi reads the PUBLISH in the publisher's read goroutine and calls
//     OnPublish (processPublish) before it writes the PUBACK/PUBREC.
//  2. OnPublish -> route: server.Topics.Subscribers(topic); one member per
//     shared group is picked by selectShared, deterministically from the
//     publish, and OnSelectSubscribers makes mochi pick the same one. For
//     every subscriber that is a persistent session of this hook, that is not
//     excluded by No Local, and that the ACL lets read the topic (Options.ACL,
//     AccessRead): an EnqueueOp with QoS min(pub, sub), the subscription
//     identifiers, the retain flag per Retain As Published, and an expiry of
//     min(message expiry, now + Retention). A QoS 0 copy for an *online*
//     session skips raft and goes to its pump from memory. RETAIN adds the
//     retained update (retained.go): a PutRetainedOwnedOp charged to the
//     publisher's user name, or for the broker's inline clients a
//     PutRetainedOp / DeleteRetainedOp. A charged one with a bound is applied
//     alone, first (see "Retained quota").
//  3. The copies go through Applier.Apply (which returns after the raft entry
//     is fsync'd in the log and applied to Badger) as one command, or, for
//     many targets, as a shared body and references (see "Fan-out").
//  4. OnPublish returns: mochi writes the PUBACK/PUBREC. The seqs returned by
//     the apply are handed to the targets' pumps (session.notify).
//
// If Apply fails nothing is acknowledged: an MQTT 5 publisher gets a PUBACK
// (QoS 1) or PUBREC (QoS 2) with 0x80, or 0x97 when the error is
// persist.ErrDiskFull, written by refuse (mochi's own error path would write a
// PUBACK even for QoS 2), and the hook returns packets.ErrRejectPacket; a 3.1.1
// publisher, which has no negative ack, is disconnected. A will message
// (published by mochi without OnPublish) is enqueued from OnWillSent the same
// way, best effort.
//
// # Delivery: the pump
//
// mochi's own deliveries to persistent sessions are vetoed: Policy returns an
// acl.Policy that denies AccessRead for a client id the hook owns (deliveries
// and retained-on-subscribe; SUBSCRIBE checks are AccessSubscribe and are left
// to the rules). This replaces mochi's offline queue, which keeps a
// disconnected session's messages in its in-flight map (random order on
// reconnect, DUP=1 on first delivery, QoS 0 dropped, and inbound and outbound
// packet ids in one map: mochi #519/#545).
//
// OnSessionEstablished starts one pump per connected persistent session;
// OnDisconnect (and a takeover, in OnSessionEstablish) stops it and waits.
// The pump keeps a FIFO of events (queue seq became durable, live QoS 0
// message, retained message after a SUBACK) and a window of at most
// min(Config.MaxInflight, the client's Receive Maximum) unacknowledged
// messages. It first re-sends PUBREL for every stored outbound in-flight record
// (QoS 2 in its PUBREL phase), then reads the durable queue in seq order
// (Store.Queue) and writes PUBLISH packets with cl.WritePacket. Queued
// messages use packet id ((seq-1) mod 65535)+1, so a re-send after a
// reconnect or a restart reuses the id the client saw [MQTT-4.4.0-1]; retained
// copies (not durable) use free ids counted down from 65535. DUP is 1 only for
// a seq this node already wrote to the client (after a restart that memory is
// gone: the re-send carries DUP=0 with the same packet id).
//
// The client's PUBACK, PUBREC and PUBCOMP can only answer the pump (mochi sends
// owned sessions nothing with QoS > 0), so OnPacketRead hands them to the pump
// and gives mochi a PUBACK for packet id 0 instead, which processPuback
// ignores: mochi's in-flight map (where it keeps the client's own inbound QoS 2
// ids) is never touched, and the two id spaces cannot collide. For a PUBREC the
// pump first applies a PutInflightOp (Released) together with the dequeue, then
// writes the PUBREL: after a crash the session resumes with PUBREL, never with
// the PUBLISH (exactly once). PUBCOMP deletes the record. When every message up
// to seq N is acknowledged (PUBACK, PUBREC, or sent at QoS 0) the pump applies
// DequeueThroughOp(N), one per batch of acks; delivery does not wait for it.
//
// Retained messages on SUBSCRIBE for owned sessions: mochi's own sending is
// vetoed by the policy; OnSubscribe notes which filters already existed,
// OnSubscribed collects the matching retained messages per the retain
// handling (0 always, 1 only for a new subscription, 2 never; none for shared
// subscriptions) and OnPacketSent hands them to the pump once the SUBACK is
// written.
//
// # Session state
//
// OnSessionEstablish (before the CONNACK): DeleteSession for a clean start over
// a known session, PutSession for a persistent one (with its will); a failed
// write stops the client before its CONNACK. OnSubscribed / OnUnsubscribed
// (before the SUBACK / UNSUBACK): Put/DeleteSubscription; a failed write stops
// the client. OnDisconnect: PutSession with DisconnectedAt (the start of the
// expiry), or DeleteSession when the session ends with the connection.
//
// Expiry: every Config.SweepInterval, if Options.IsLeader (nil: always)
// says this node leads, the sweep proposes DeleteSession for
// Store.ExpiredSessions(now) that are not connected, and drops them from
// mochi's client table; mochi's own expiry (OnClientExpired) does the same.
// The sweep reads replicated state only, so the duty moves with leadership.
// Queued messages older than Config.Retention expire through their stored
// expiry (Badger TTL and the read filter).
//
// Queue bound (drop-new): a message for a session whose queue already holds
// QueueMaxMessages messages or QueueMaxBytes bytes (topic + payload) is not
// enqueued for that session, with a warning; the publisher is still
// acknowledged and the other targets still get it. Refusing the publish
// instead would let one slow or dead subscriber block every publisher of a
// topic (and, for 3.1.1 publishers, disconnect them). The counters are kept in
// memory, loaded from Store.QueueLen on first use; expiry makes them
// over-count until the pump dequeues.
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
// queue with the message: the hook proposes persist.DropStagedOp, the
// leader's sweep drops stagings left by a crash once they expired
// (Store.StaleStaged), and the publisher's re-send reaches every target once.
// Full copies (targets with more than 500 identifiers) go into the last
// commands; only those that do not fit there are visible before the commit.
// Staged targets get no seq back: their pumps are woken by Observe when the
// commit applies (every pump on the node re-reads its queue's last seq).
// The pumps read references through Store.Queue, which resolves them; acks
// (DequeueThrough), session deletion and expiry release them in persist.
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
// decides alike. Anonymous clients share the owner ""; the broker's inline
// clients (presence, admin API, stored wills after a restart) are not
// charged. A charged update with a bound is applied in its own command before
// the copies: a refusal (persist.ErrQuotaExceeded) leaves nothing written.
// Then an MQTT 5 QoS 1/2 publisher gets 0x97 and the message is not
// delivered; a 3.1.1 one is disconnected (refuse); QoS 0 messages and wills
// are delivered without being retained (OnPublish returns the packet with
// Retain cleared; for a will, mochi's retained index is put back from the
// store). Every refusal is counted with Options.Limits
// (retained.max_per_user / retained.max_bytes_per_user) and logged at most
// once a second.
//
// # Recovery order at start
//
// persist.Open -> cluster.Open (replays the raft log into the store) ->
// WaitReady -> New + server hooks -> server.Serve, which calls StoredClients
// (the hook takes ownership of every persistent session; a session the crash
// left connected gets its DisconnectedAt, and stored wills are scheduled, see
// wills.go), StoredSubscriptions
// (topic index) and StoredRetainedMessages (retained index); the hook does not
// provide StoredInflightMessages: the pump owns in-flight state and resumes it
// from the store when the client reconnects.
//
// # Wiring
//
// Options.ACL must not consult Policy (it would deny every target): give it an
// acl.Hook built from the same config without WithPolicies, and give mochi
// the one built with acl.WithPolicies(h.Policy()). The policy only reads the
// registry, which exists from New on, so the construction cycle is broken by
// building the storage hook first.
//
// # Departures from the first design, and why
//
//   - Shared groups: no per-publish stash between OnPublish and
//     OnSelectSubscribers; both call selectShared, a pure function of the
//     publish, so they agree with no shared state to leak or clean up.
//   - Retained on SUBSCRIBE: RetainHandling is not rewritten in OnSubscribe
//     (hooks/acl matches SUBSCRIBE checks by the identity of the packet's
//     filter strings, and mochi's retain handling 1 needs the original value);
//     the Read veto already stops mochi's copies.
//   - Queued packet ids are derived from the seq instead of being allocated:
//     a re-send after a restart must reuse the id, and this needs no extra
//     durable write per QoS 2 send.
//   - Queue overflow drops the new message for the full session instead of
//     refusing the publish (see "Queue bound").
//
// # Cluster
//
// Every node runs this hook over its own replica of the store. The write path
// is the same on every node (Options.Node forwards a follower's writes to the
// leader and returns once this node applied them too). What a node must learn
// from the others comes through Observe, the store's observer, called for
// every applied entry in log order on every node:
//
//   - PutSession / DeleteSession / Put- and DeleteSubscription of a session
//     not connected here are mirrored into the registry, mochi's client table
//     (an offline client) and topic index. So every node matches every
//     publish against every persistent session of the cluster and enqueues
//     for it, and a client that reconnects through another node resumes its
//     session there (session present, subscriptions, the queue). A session
//     being established here (its write in flight) is left alone.
//   - An Enqueue for a session whose pump runs here wakes the pump: a
//     message published through node A for a session connected to node B is
//     delivered by B's pump from B's replica of the queue. A QoS 0 copy for
//     a session connected elsewhere is enqueued too (it cannot be handed to a
//     pump in memory).
//   - A DequeueThrough of a session pumped elsewhere resets this node's
//     queue counter (re-read from the store at the next enqueue).
//   - PutRetained / DeleteRetained update mochi's retained index.
//
// Takeover: the cluster router (hooks/route) calls TakenOver before it
// disconnects a client whose id connected to another node; the pump stops and
// the disconnect is not recorded (the other node owns the session record).
// Publishes forwarded by another node (Options.Forwarded) are ignored: their
// origin node enqueued them. The expiry sweep runs on the leader only
// (Options.IsLeader) and sees sessions connected to any node as connected
// (their records carry no disconnect time).
//
// # Engine store (engine_*.go)
//
// EngineStore implements ext.Store, the durable session store of the
// native engine (broker/engine), over the same persist records and the
// same Applier, with no mochi type: the engine keeps sessions, windows and
// delivery; the store only writes and reads. What it shares with the hook
// is one implementation each, in core (core.go):
//
//   - apply: CheckSpace before proposing, Config.ApplyTimeout, cancelled by
//     the owner's stop (Hook.Stop, EngineStore.Close); errors wrap the
//     persist error and, for persist.ErrDiskFull / persist.ErrQuotaExceeded,
//     ext.ErrDiskFull / ext.ErrQuotaExceeded too (both paths answer 0x97).
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
// expiry plus the interval it implies, so a record written by either path
// reads on the other. A will keeps its Message Expiry Interval (its expiry
// starts when it is published; ext.Will). Queued copies carry the copy's
// QoS and RETAIN flag as the message's (the publish's own are not stored
// per copy).
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
// # Owners
//
// Each registered session carries the username that created it; the registry
// keeps a count of sessions per username (perUser, owner.go) in step with every
// registration and removal, so SessionsOf is O(1). SessionOwner reads the
// replicated record of one id (owner, connected on some node), and Discard
// deletes an offline session through the node. hooks/session decides with
// them; this package decides nothing about owners.
//
// # Limits
//
// A QoS 0 copy for an online session is lost if the node crashes before
// writing it. A session connected to a node that dies stays "connected" in
// the store until its client reconnects somewhere (its will is not sent by
// the others, and its expiry does not start).
// Retained copies sent after a SUBACK are not durable. DUP after a restart is
// 0 (see above).
package storage
