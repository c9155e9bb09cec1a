// Package session is the mochi hook that decides who may use a session and
// how much one user or client holds (issue 16): a session belongs to the user
// who created it, a user holds at most session.max_per_user persistent
// sessions, and a client at most limits.max_subscriptions_per_client filters.
//
// # What it owns
//
// The decision, in one place (decide, owner.go). It owns no session state:
// mochi's client table and the durable store (Options.Sessions, hooks/storage
// through a small adapter in broker) are read, and the only write is
// Sessions.Discard in clean_start mode. It keeps the CONNECTs it accepted until
// their client is in mochi's table (claims), and the positions of the filters
// it refused until their SUBACK is written.
//
// # CONNECT: call order
//
// mochi's connect flow is ParseConnect, validateConnect, hooks.OnConnect (in
// hook order), OnConnectAuthenticate, OnSessionEstablish, inheritClientSession
// (the takeover: the connected holder of the id gets DISCONNECT 0x8E and its
// state moves to the newcomer), Clients.Add, CONNACK, OnSessionEstablished.
// The broker adds this hook right after hooks/auth, whose OnConnect sets
// cl.Properties.Username to the authenticated identity (username or JWT sub;
// nil for anonymous). OnConnect then:
//
//  1. reads who holds the client id: mochi's client table (online clients,
//     the sessions mochi keeps, restored ones, and the mirrors of other nodes'
//     sessions that hooks/storage adds) and the replicated session record
//     (Sessions.SessionOwner: owner and whether a client holds it on any node);
//  2. adds the CONNECTs of this node accepted but not yet in the table
//     (claims): two users racing for one id cannot both pass;
//  3. another owner: refused (session.owner_mismatch: refuse, or a live
//     holder) with CONNACK 0x87 / 3.1.1 return code 5; or, in clean_start
//     mode, the offline session is discarded (Sessions.Discard, then whatever
//     mochi's table still has of it) and the CONNECT goes on as a clean start;
//  4. a new persistent session of an authenticated user (not one the user
//     already holds): refused with CONNACK 0x97 / 3.1.1 return code 3 when
//     Sessions.SessionsOf(user) plus this node's pending new sessions of the
//     user reach MaxPerUser. Anonymous clients are not counted.
//
// A refusal is counted (Observer.LimitRefused with the LimitX constant of the
// bound), logged at warn through a sampled logger (one line per 10 s), answered
// with the CONNACK written by the hook, and returned as the error that makes
// mochi close the connection: no later hook sees the CONNECT and no takeover
// happens. A store read error refuses (0x88 / 3) rather than guess.
//
// "Another owner" compares identities exactly; anonymous clients are the one
// owner "", so an authenticated user cannot take an anonymous session and an
// anonymous client cannot take a user's.
//
// # SUBSCRIBE
//
// OnSubscribe (before hooks/acl and hooks/storage, in the client's read
// goroutine) counts the distinct filters the client holds
// (cl.State.Subscriptions) plus the new ones of the packet; each filter past
// Limits.MaxSubscriptionsPerClient is replaced by the empty filter, which
// mochi answers with 0x8F and creates nothing for [MQTT-4.7.3-1]; a re-sent
// filter the client holds does not count. OnPacketEncode turns those codes of
// the SUBACK into 0x97 for MQTT 5 (mochi has already written 0x80 for 3.1.1).
//
// # Lifecycle and concurrency
//
// New validates the configs; the hook starts no goroutine; Stop forgets the
// claims and pending SUBACKs and is idempotent. OnConnect runs concurrently on
// every connecting client's goroutine; its lock is never held across a store
// read or write.
//
// # Limits
//
// The replicated view is as fresh as this node's replica: a CONNECT on one
// node racing the creation of the same id's session on another node, within
// the replication lag, is not refused, and max_per_user can be passed by the
// sessions one user opens on several nodes within it. With storage off only
// mochi's table is consulted and max_per_user is not enforced.
package session
