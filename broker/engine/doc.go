// Package engine is imqtt's MQTT protocol layer (issue 17): CONNECT and
// authentication, keepalive, takeover, clean and persistent in-memory
// sessions with Session Expiry (durable through a store, see "Durable
// sessions"), subscriptions (shared ones included),
// QoS 0/1/2 in both directions with in-flight windows, retained messages,
// wills with Will Delay, topic aliases both ways, message expiry, maximum
// packet size, the server's DISCONNECT reasons (with a lingering close), the
// $SYS topics and messages from the server itself (Engine.Publish).
// mochi's packets package is the wire
// codec; the connection layer is package transport (reader, workers,
// batched writes, back-pressure primitives).
//
// # What it owns
//
// The session table (sessions.go), each session's state (session.go:
// subscriptions, the outbound window and queue, inbound QoS 2 ids, a
// delayed will), the subscription and retained index (topics.go, behind the
// small interface index), and the per-connection protocol state (client.go,
// stored in transport.Conn.Data).
//
// # Call order
//
//	e, err := engine.New(cfg, engine.Options{Auth: a, ACL: z, Log: log})
//	srv, err := transport.New(tcfg, guard, e, log) // e is the Handler
//	srv.Start()
//	...
//	e.Close(ctx)   // DISCONNECT 0x8B to v5 clients, stop the sweeper
//	srv.Close(ctx) // then the sockets and the transport's goroutines
//
// The broker sets transport.Config.MaxPacketSize to Config.MaxPacketSize so
// oversized packets are refused at the fixed header (Malformed answers v5
// clients with DISCONNECT 0x95); Packet checks it again.
//
// The transport calls Open, then Packet for each packet in order (the
// first must be CONNECT), Malformed when the framer refuses the stream, and
// Closed once. Packet runs on a transport worker, which must never wait:
// the transport has a few per CPU for every connection of the node.
//
// # Authentication
//
// Authenticate may take tens of milliseconds of CPU (bcrypt) or wait for
// seconds (hooks/auth's login throttle), so it never runs on a worker
// (authstep.go): connect decodes and checks the CONNECT on the worker,
// pauses the connection and hands the rest to a pool that runs at most
// 4 x GOMAXPROCS Authenticate calls at once, each on a goroutine of its
// own, the CONNECTs beyond queued in order without one. A call that waits
// without working (ext.AuthIdle) gives its slot up meanwhile. The same
// goroutine then attaches the session and answers (or hands over to admit);
// the connection resumes after its CONNACK, so its later packets are read
// in order after it. Its ctx ends at Close, which waits for these
// goroutines; a connection closed during authentication is never attached
// (Closed marks it lost, attach refuses it), nor is any after Close began.
// A panicking Authenticator closes only its connection.
//
// Options.Handler (handoff.go) takes the publishes it claims instead of
// routing them; Options.Lifecycle (lifecycle.go) hears of every accepted
// connection before its CONNACK and of its end, in order per client id. The
// IM service (hooks/im) implements both. Neither runs on a worker:
// Handler.Handle on a goroutine of its own, Lifecycle.Connected on the
// client id's writer (connect.go admit, the connection still paused from
// authentication, as the durable CONNECT write), Lifecycle.Disconnected on the connection's
// reader (Closed).
//
// With Options.Router (cluster.go, ext.Router) the engine routes between
// the nodes of a cluster: the index reports subscriptions to the router
// (topics_route.go routedIndex), a client's publish and a will are
// forwarded after their local routing (never $SYS, never a forwarded one),
// a publisher is paused while a link is full, and the router delivers
// forwarded messages (DeliverForwarded), takes over connections (TakeOver,
// 0x8E) and asks which shared groups this node serves (SharedGroups).
// Durable sessions are not routed: see "Durable sessions in a cluster".
//
// Engine.Publish (serverpublish.go) sends a message from the server itself:
// safe from any goroutine, never blocks on a subscriber, judged per
// subscriber by ext.AccessDeliver only; it returns ErrInvalidTopic, or
// ErrClosed after Close.
//
// # Server DISCONNECT and the lingering close
//
// When the engine ends a v5 connection with a DISCONNECT (a protocol error,
// too large a packet, a refused alias...), it does not close the socket at
// once (linger.go): the session is detached at once (will, expiry and
// takeover behave as at a close), later packets are read and dropped
// unanswered, and the connection closes when the client closes its side,
// when nothing arrives for lingerTime (1 s, the read timeout), or at the
// first packet after it. So a client still writing reads the reason code
// instead of a TCP reset. 3.1.1 clients, and the server's own shutdown
// (Close), are closed without lingering. No goroutine or timer is added.
//
// # Topic aliases
//
// Inbound (alias.go resolveAlias): a v5 client may use aliases 1 to
// mqtt.topic_alias_maximum (CONNACK's Topic Alias Maximum); the map is the
// connection's, created at the first alias. Outbound (alias.go outAlias):
// a client announcing Topic Alias Maximum N > 0 gets aliases for the first
// min(N, mqtt.outbound_topic_alias_maximum) distinct topics sent on the
// connection, name and alias the first time, the alias alone after; later
// topics go by name (no replacement). The table is the client's, created at
// the first aliased PUBLISH, guarded by session.mu (under which every
// PUBLISH to the client is encoded and queued, so it follows wire order),
// bound only once that PUBLISH is queued (a refused or oversize one binds
// nothing), and gone with the connection [MQTT-3.3.2-7]. Delivery encodes
// once per variant (deliver.go fanout): clients without aliases share one
// encoding; an aliased client shares with those using the same alias in the
// same form.
//
// # $SYS
//
// With mqtt.sys_interval > 0 the engine publishes its counters (stats.go)
// as retained QoS 0 messages under $SYS/broker/ (sys.go), once at start and
// every interval, through Engine.Publish. "#" and "+" never match them
// [MQTT-4.7.2-1]; who reads them is the Authorizer's ext.AccessDeliver.
//
// # Security bounds
//
// bounds.go: a session belongs to the user who created it (a CONNECT with
// another user's client id is refused with 0x87 before anything changes, or
// with Config.OwnerMismatchCleanStart discards an offline one), a user holds
// at most Config.MaxSessionsPerUser persistent sessions (Engine.perUser, kept
// in step by attach and endLocked under Engine.mu), a session at most
// Config.MaxSubscriptionsPerClient filters, and topic names and filters have
// at most Config.MaxTopicLevels levels. Refusals go to
// Observer.LimitRefused and a sampled warning.
//
// # Durable sessions
//
// With Options.Store (hooks/ext Store; nil keeps everything in memory) a
// persistent session (3.1.1 clean session 0, v5 Session Expiry > 0 at the
// CONNECT that created it) is durable: session.durable is set when the
// session is created and never changes. What is written, and before what
// (durable.go, durqueue.go, storewrite.go):
//
//	New                 Sessions, Flights, Retained loaded: offline sessions with
//	                    their subscriptions in the index, released outbound and
//	                    inbound QoS 2 ids; one stored as connected (the node
//	                    stopped without writing its disconnect) is offline from
//	                    now (rewritten), its expiry starts, its will is scheduled
//	CONNECT             DeleteSession (clean start, or another user's id, over a
//	                    durable session) and PutSession (connected, with the will)
//	                    before the CONNACK; refused: CONNACK 0x80 (3.1.1: 3), close
//	SUBSCRIBE           PutSubscriptions before the SUBACK; retained messages
//	                    after it; refused: the filters answer 0x80, the session's
//	                    subscriptions are put back
//	UNSUBSCRIBE         DeleteSubscriptions before the UNSUBACK; refused: put
//	                    back, v5 0x80 per filter, 3.1.1 closed
//	PUBLISH, wills,     one Store.Publish with a copy per durable target (QoS
//	Engine.Publish      1/2, or any QoS while the target is offline; QoS 0 to a
//	                    connected one goes from memory) and the retained update
//	                    (RETAIN; not $SYS/broker/, which stays in memory), and
//	                    for a durable publisher's QoS 2 its packet id (Inbound)
//	                    before the PUBACK/PUBREC. The retained index changes only
//	                    after the write. Refused: v5 0x80 (0x97 for
//	                    ext.ErrQuotaExceeded / ErrDiskFull), 3.1.1 closed;
//	                    nothing of it reaches a durable session. Non-durable
//	                    subscribers get their copy at once, as without a store
//	PUBREL (inbound)    CompleteInbound of a stored id before the PUBCOMP
//	PUBACK, QoS 0 sent  the acknowledged prefix moves: Dequeue, coalesced (one
//	                    loop per session writes the latest prefix)
//	PUBREC (outbound)   Release (dequeuing through its seq) before the PUBREL,
//	                    once every earlier message is acknowledged (an early
//	                    PUBREC waits in the window); PUBCOMP: Complete
//	DISCONNECT, close   PutSession with DisconnectedAt (and a pending will);
//	                    expiry 0: DeleteSession
//	sweeper             expiry: DeleteSession; a delayed will published:
//	                    PutSession without it
//	Close               detaches every connection (their records written, a will
//	                    not yet published kept for the restart) and waits for
//	                    the store writes, bounded by its ctx
//
// No transport worker waits for a write (nor for Lifecycle.Connected, which
// a CONNECT's admit runs first on the same writer): a connection that needs
// the answer is paused (transport.Conn.Pause with a channel the write's
// completion closes), the write runs on a goroutine counted in Engine.wrun,
// and the completion queues the answer with a nil Batch (a CONNACK under
// session.mu with client.ready set, so a takeover never finds it sent
// unmarked). While paused nothing else of the connection is read, so its
// acks keep their order [MQTT-4.6.0-2] ff. Writes of one client id's
// records run in order on that id's writer (storewrite.go write), never two
// at once, so a DISCONNECT followed at once by a reconnect (or a clean
// start after an old session) cannot leave the older record last. Store.Publish spans sessions and runs on its own
// goroutine (spawn), or on its topic's writer when it updates the retained
// message (so the retained index changes in the store's order); a
// DeleteSession waits for the publishes already routed to that client id
// (copies counted under session.mu), so no copy outlives the session.
//
// Delivery (durqueue.go): a durable session's queue is the store's; the
// session keeps only its window (session.d: next read, acknowledged
// prefix, the flights and the released QoS 2 ids). The seqs Publish returns
// are handed to the session (handoff): the next one in order goes from
// memory when the window has room, otherwise the store is read
// (Store.Queue, under session.mu, a local read) from the last seq read, in
// seq order. Offline sessions hold no messages in memory. Packet id =
// ext.PacketIDFor(seq), so a re-send after a reconnect or a restart reuses
// it; DUP is set only for a seq this process wrote. On attach: PUBREL for
// every released id, the resend of the memory flights, then the queue
// again from the acknowledged prefix. A QoS 0 queued message counts as
// acknowledged when written (not re-sent after a reconnect; after a restart
// it may be). The session's memory deliveries at QoS 1/2 (retained on
// SUBSCRIBE) take ids counted down from 65535, skipping the window's, and
// a seq whose id such a flight holds waits for it, as one whose id a
// released message (awaiting PUBCOMP) or, after 65535 seqs, a flight of
// the window still holds. A released message is dequeued by its Release,
// so the store's queue never holds one.
//
// # Durable sessions in a cluster
//
// When Options.Store is an ext.SharedStore (hooks/storage EngineStore: the
// nodes of a cluster write one replicated state through raft), New watches
// it before it loads (mirror.go): the store reports, in log order, the
// session writes other nodes made (PutSession, DeleteSession, Put- and
// DeleteSubscriptions; its own are left out: a record carries its node
// id, the other writes are matched to this store's writes in flight) and
// every node's enqueues and retained updates (ext.StoreEvents). The
// events are queued and applied in order by the mirror goroutine:
//
//	SessionPut          a session not attached here becomes (or stays) an
//	                    offline durable session owned by its user: remote
//	                    while its record says connected (DisconnectedAt 0;
//	                    never expired here), else offline with its expiry
//	                    scheduled; its will is the writing node's (dropped
//	                    here); its delivery state is the store's (reload)
//	SessionDeleted      a session not attached here ends (a will it held
//	                    goes now)
//	Subscriptions*      the session's filters in its map and the index
//	Enqueued            a session attached here fills its window from the
//	                    store (a seq it already has does nothing)
//	Retained            the retained index, at once (on the store's apply
//	                    goroutine): it follows the log alone, so a retained
//	                    publish of this node is in the index before Publish
//	                    returns and commit does not set it
//
// So every node matches every publish against every durable session of
// the cluster and writes its copy (routedIndex routes none of their
// filters; a forwarded publish skips them). A CONNECT whose client id the
// table lacks reads the replica first (lookupStored), so a session written
// elsewhere and not mirrored yet resumes. Attaching a session whose
// delivery state is the store's reads its Flights before the CONNACK
// (reloadFlights): the queue is then read from the store's head. The
// router's TakeOver of a durable session keeps it as a remote mirror: no
// disconnect record is written (the other node's CONNECT wrote the
// record), its will goes unless delayed, and it is read again from the
// replica (resync: writes of the other node applied while it was attached
// here were not mirrored). Bounds see mirrored sessions: an owner is
// checked against a session connected elsewhere (remote counts as
// connected), Engine.perUser counts them. Expiry of a durable session
// runs only where SharedStore.Leader() is true: a follower keeps an
// expired one (looked at again every mirrorRecheck seconds) until the
// leader's DeleteSession reaches it; a remote one never expires.
//
// # Goroutines
//
//	sweeper       one per engine; New starts it, Close stops it (e.done), e.wg
//	$SYS loop     one per engine when Config.SysInterval > 0 (sys.go sysLoop);
//	              New starts it, Close stops it (e.done), e.wg
//	mirror        one per engine with a SharedStore (mirror.go mirrorLoop);
//	              New starts it after the load, Close stops it (e.done), e.wg
//	drain waiter  one per slow session at most (inflight.go startDrain); ends
//	              when the connection drains, detaches or the engine closes; e.wg
//	handler call  one per connection at most (handoff.go): a claimed PUBLISH
//	              runs ext.PublishHandler.Handle with the publisher paused;
//	              ends when Handle returns (its ctx ends at Close); e.wg
//
//	store writer  one per client id with store writes or an admit queued
//	              (storewrite.go; admit: Lifecycle.Connected and the CONNECT's
//	              record); ends when its queue is empty; e.wrun, waited for
//	              by Close (a Connected ends with e.ctx)
//	store publish one per durable publish in flight (storewrite.go spawn);
//	              ends with the write; e.wrun, waited for by Close
//
// Everything else runs on the transport's goroutines: no goroutine and no
// timer per client (keepalive and the lingering close are the socket's read
// deadline). Engine.Publish runs on its caller's goroutine.
//
// # Locks
//
// Lock order: Engine.mu (the session table) -> session.mu -> the index's
// lock. The index never calls back under its lock (match and retained
// return slices), so delivery locks one target session at a time and never
// two sessions at once. Engine.wmu (store writers) is a leaf: e.write is
// called under session.mu, and no write op runs under wmu. Authorizer and
// Observer calls may run under session.mu (their contract: fast,
// non-blocking); Authenticator never does (nor on a worker: authstep.go); Store.Queue does (a local read),
// Store writes never.
//
// # Errors
//
// Handlers return sentinels of errors.go wrapped with context; reasonCode
// maps them to the v5 reason code of the server's DISCONNECT in one place
// (engine.go Packet), and 3.1.1 clients are closed without one.
//
// # Memory
//
// An idle connected session with one subscription holds a client (192 B),
// a session (192 B), one map entry and its trie node (TestIdleStateSize):
// maps and queues are created on first use and dropped when empty. The
// outbound alias table costs nothing until a client that announced a
// maximum is sent its first PUBLISH, then one map entry per aliased topic,
// at most mqtt.outbound_topic_alias_maximum (default 64).
package engine
