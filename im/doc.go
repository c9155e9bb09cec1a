// Package im is the chat domain of imqtt: direct conversations and groups over
// MQTT, with cluster-unique message ids, gap-free per-conversation sequences,
// idempotent sends, receipts and unread counts, presence, typing, history and
// sync, notifications, and the built-in access rules of the im/ topic tree.
// docs/protocol.md is the wire contract (topics, JSON, reason codes);
// DESIGN.md in this directory explains ids, sequences, the key schema,
// delivery and the limits.
//
// # What it owns
//
// The raw IM key space of persist (c/ x/ i/ v/ u/ g/, see keys.go; y/, see
// change.go), written only through the Replicator (raft) and read from the
// local *persist.Store;
// the in-memory presence of this node's devices; one goroutine, the sweeper of
// expired dedup records. It does not own the Replicator, the Store or the
// Deliverer: the caller opens them before New and closes them after Close.
//
// # Call order
//
//	svc, err := im.New(cfg, im.Options{Node: node, Store: store, NodeID: id, Deliver: pub, Log: log})
//	svc.Connected(c) / svc.Disconnected(c)     // from the hook: every device session
//	out := svc.Handle(ctx, c, req)              // every upstream PUBLISH under im/
//	svc.CanPublish / CanSubscribe / CanReceive  // the ACL of the im/ tree
//	err = svc.Close()                           // idempotent, waits; then close node and store
//
// All methods are safe for concurrent use from many client goroutines. Handle
// blocks until the write is committed (at most Config.ApplyTimeout) and
// publishes through Deliver synchronously before it returns; Deliver must not
// block on the caller. Handle never panics on any input.
//
// # Invariants
//
//   - The sender of everything is Client.User (the authenticated user name);
//     payload fields never name the sender. Clients publish only the up topics;
//     nobody but the service publishes under im/u/, im/presence/, im/notify/.
//   - Every durable change is one command through Replicator.Apply; reads never
//     write; Apply never sees a clock value it did not get from the proposer.
//   - Seqs of a conversation are assigned inside the replicated apply
//     (persist.OpAppendRaw): gap-free and strictly increasing, cluster-wide.
//     A re-send with the same cid (same user and conversation, within the dedup
//     window) gets the original id, seq and ts and stores nothing.
//   - A message is delivered only after it is committed; every send is answered
//     on im/u/{user}/ack (accepted or refused), every rpc on its reply topic.
//   - Errors are sentinels (errors.go), mapped to MQTT 5 reason codes once, in
//     outcomeOf (codes.go).
package im
