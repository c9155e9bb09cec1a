// Package persist is the node's one on-disk store: the storage of the raft state
// machine (sessions, subscriptions, queued and in-flight messages, retained
// messages, and raw key-value space for the IM package), on Badger v4. It imports
// nothing of the project; the raft log itself belongs to package cluster.
//
// # Contract
//
// Open(cfg, log) opens or creates the store in cfg.Dir, holding the directory
// lock (a second Open, in this or another process, fails with ErrLocked) until
// Close. A directory that holds anything else fails with ErrForeignDir and is
// left untouched; damaged store files give ErrCorrupt; a store written by a newer
// schema gives ErrSchemaVersion. Open starts one goroutine, the value-log GC
// loop; Close stops it, waits for it and for in-flight reads, closes Badger and
// releases the lock. Close is idempotent.
//
// Every durable change goes through Apply(index, batches): the raft FSM decodes
// an entry's commands with DecodeOps (the leader encoded them with EncodeOps) and
// hands them over with the entry's index. Apply is atomic per entry, records the
// index as AppliedIndex in the same transaction, skips an index it already has
// (ErrAlreadyApplied), reads no clock and is deterministic: replicas fed the same
// entries hold the same content. Apply, Restore and ClaimNodeID are serialised;
// reads run concurrently with them and see committed state only.
//
// StateMachine() adapts the Store to the raft layer's state machine interface
// (commands are EncodeOps bytes; a store error panics, as that interface asks).
//
// Snapshots: BeginSnapshot captures a point-in-time view between two Applies
// (call it from FSM.Snapshot), SnapshotView.WriteTo streams it (from
// FSMSnapshot.Persist, concurrently with later Applies), Release frees it.
// Restore replaces the whole state from such a stream, atomically for readers;
// a bad stream fails with ErrCorrupt and changes nothing.
//
// Writes are refused with ErrDiskFull while the file system has less than
// cfg.MinFreeBytes available: Badger writes through mmap, where a full disk kills
// the process with SIGBUS instead of returning an error.
//
// Timestamps are unix milliseconds everywhere; expiring data (messages with an
// Expiry, raw keys with ExpiresAt) gets a Badger TTL, and readers also filter by
// the time they pass in. Sessions are never expired by the store:
// ExpiredSessions lists candidates and the leader proposes their deletion.
//
// A message for many queues can be stored once (OpPutBody) and referenced
// from each queue (OpEnqueueRef, or staged with OpStageRef and enqueued at
// once by OpCommitBody); Queue resolves references, and dequeues, session
// deletes and expiry release them, the body going with the last. Retained
// messages can be charged to an owner within bounds (OpPutRetainedOwned,
// ErrQuotaExceeded), deterministically on every replica.
//
// DESIGN.md in this directory has the key schema, the encodings, the Apply,
// snapshot, GC and disk-full rules and the reasons for them.
package persist
