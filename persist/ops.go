package persist

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// OpKind names a state change. The numeric values travel in the raft log (see
// EncodeOps): never renumber, only append.
type OpKind uint8

// Op kinds.
const (
	// OpPutSession creates or replaces Session (keyed by Session.ClientID).
	OpPutSession OpKind = 1 + iota
	// OpDeleteSession removes Client's session with all its subscriptions, queued
	// and in-flight messages. The queue seq counter is kept (see DESIGN.md).
	OpDeleteSession
	// OpPutSubscription creates or replaces Subscription of Client.
	OpPutSubscription
	// OpDeleteSubscription removes Client's subscription to Filter.
	OpDeleteSubscription
	// OpEnqueue appends Message to Client's queue; the store assigns the seq (last
	// seq + 1) and reports it in Result.Seq.
	OpEnqueue
	// OpDequeueThrough removes every queued message of Client with seq <= Seq.
	OpDequeueThrough
	// OpPutInflight creates or replaces Inflight of Client.
	OpPutInflight
	// OpDeleteInflight removes Client's in-flight message Dir/PacketID.
	OpDeleteInflight
	// OpPutRetained stores Message as the retained message of Message.Topic; an
	// empty payload deletes it (MQTT 3.3.1.3).
	OpPutRetained
	// OpDeleteRetained removes the retained message of Topic.
	OpDeleteRetained
	// OpPutRaw stores Value under Key (a raw IM key, see IsRawKey), with an absolute
	// expiry ExpiresAt (unix ms, 0 = never). With IfAbsent an existing key is left
	// alone and Result.Found is set.
	OpPutRaw
	// OpDeleteRaw removes raw Key.
	OpDeleteRaw
	// OpIncrRaw adds Delta to the 8-byte big-endian counter under raw Key (absent =
	// 0, wraps at 2^64) and reports the new value in Result.Seq.
	OpIncrRaw
	// OpAppendRaw appends Value to a sequenced log of raw keys: seq = the 8-byte
	// big-endian counter under Key + 1, the entry is stored under
	// Prefix+be64(seq), the counter becomes seq, and every key of Raise is raised
	// to at least seq (as OpMaxRaw). With a non-empty DedupKey the op is
	// idempotent: a DedupKey already present (written by an earlier append)
	// leaves everything unchanged and reports that append's seq with Found set.
	// ExpiresAt is stored inside the dedup record for a later sweep; Apply never
	// expires it by itself (DESIGN.md "Ops").
	OpAppendRaw
	// OpMaxRaw raises the 8-byte big-endian value under raw Key to Seq: it stores
	// max(existing, Seq) (absent = 0, always written when absent) and reports the
	// value now stored in Result.Seq; Result.Found is set when nothing changed.
	OpMaxRaw
	// OpPutBody stores Message once as a shared body (a/{id}) for the
	// OpEnqueueRef ops that follow it; id = the body counter + 1, reported in
	// Result.Seq. A body nobody references is deleted with its last reference
	// or by its Badger TTL (Message.Expiry). See DESIGN.md "Shared bodies".
	OpPutBody
	// OpEnqueueRef appends a reference to a shared body (Ref) to Client's
	// queue: seq = last seq + 1 as OpEnqueue (Result.Seq), and the body's
	// reference count + 1. Ref.Body 0 names the body of the nearest OpPutBody
	// earlier in the same batch (validation requires one).
	OpEnqueueRef
	// OpPutRetainedOwned is OpPutRetained charged to Owner (the publisher's
	// user name): the owner's retained count and topic+payload bytes must stay
	// within MaxCount / MaxBytes (0 = no bound) after the change, else the op
	// fails with Result.Err wrapping ErrQuotaExceeded and writes nothing. An
	// empty payload deletes and is always allowed. Replacing a message counts
	// the difference for the same owner and frees the previous owner's share
	// otherwise. Message.Created is the op's clock for dropping the owner's
	// expired entries from its usage (DESIGN.md "Retained quota").
	OpPutRetainedOwned
	// OpStageRef stages Ref for Client under its body (t/s{body}{client}, no
	// TTL) without touching the queue; OpCommitBody enqueues the staged
	// references, OpDropStaged discards them. A fan-out too large for one
	// command stages its references over several and commits them in the
	// last, so no queue sees a partial one. Ref.Body 0 works as in
	// OpEnqueueRef; Result.Seq is the body id. A second stage of the same
	// client for one body replaces the first.
	OpStageRef
	// OpCommitBody enqueues every reference staged for body Seq (as
	// OpEnqueueRef, in client id order) and deletes the staging;
	// Result.Count is how many.
	OpCommitBody
	// OpDropStaged deletes the references staged for body Seq (an abandoned
	// fan-out); Result.Count is how many.
	OpDropStaged
	// OpRequireRaw is a guard: the live value of raw Key must equal Value
	// byte for byte (with IfAbsent, "Absent": Key must be absent; a key
	// carrying a Badger TTL counts as absent, as for every read that decides
	// what Apply writes). A failing guard fails with Result.Err wrapping
	// ErrConflict and every later op of the same batch is skipped (Result.Err
	// wraps ErrConflict, nothing written). Guards may only come first in a
	// batch (validation refuses a guard after any other kind), so a failing
	// guard leaves the batch unwritten. It writes nothing itself. See
	// DESIGN.md "Guards".
	OpRequireRaw

	opKindEnd // first unused value
)

var opKindNames = [...]string{
	OpPutSession: "put_session", OpDeleteSession: "delete_session",
	OpPutSubscription: "put_subscription", OpDeleteSubscription: "delete_subscription",
	OpEnqueue: "enqueue", OpDequeueThrough: "dequeue_through",
	OpPutInflight: "put_inflight", OpDeleteInflight: "delete_inflight",
	OpPutRetained: "put_retained", OpDeleteRetained: "delete_retained",
	OpPutRaw: "put_raw", OpDeleteRaw: "delete_raw", OpIncrRaw: "incr_raw",
	OpAppendRaw: "append_raw", OpMaxRaw: "max_raw",
	OpPutBody: "put_body", OpEnqueueRef: "enqueue_ref", OpPutRetainedOwned: "put_retained_owned",
	OpStageRef: "stage_ref", OpCommitBody: "commit_body", OpDropStaged: "drop_staged",
	OpRequireRaw: "require_raw",
}

// String returns the snake_case name of k.
func (k OpKind) String() string {
	if k > 0 && k < opKindEnd {
		return opKindNames[k]
	}
	return "op_kind(" + strconv.Itoa(int(k)) + ")"
}

// Op is one state change. Only the fields its Kind documents are used (and
// encoded); build ops with the constructors below.
type Op struct {
	Kind         OpKind
	Client       string
	Session      *Session
	Subscription *Subscription
	Filter       string
	Message      *Message
	Inflight     *Inflight
	Seq          uint64
	Dir          InflightDir
	PacketID     uint16
	Topic        string
	Key          []byte
	Value        []byte
	ExpiresAt    int64 // unix ms, 0 = never
	IfAbsent     bool
	Delta        uint64
	Prefix       []byte    // OpAppendRaw: entry key prefix
	DedupKey     []byte    // OpAppendRaw: optional dedup record key
	Raise        [][]byte  // OpAppendRaw: keys raised to the new seq
	Ref          *QueueRef // OpEnqueueRef
	Owner        string    // OpPutRetainedOwned: the user charged
	MaxCount     uint64    // OpPutRetainedOwned: the owner's bound on retained messages (0 = none)
	MaxBytes     uint64    // OpPutRetainedOwned: the owner's bound on topic+payload bytes (0 = none)
}

// PutSessionOp returns an OpPutSession.
func PutSessionOp(s Session) Op { return Op{Kind: OpPutSession, Session: &s} }

// DeleteSessionOp returns an OpDeleteSession.
func DeleteSessionOp(client string) Op { return Op{Kind: OpDeleteSession, Client: client} }

// PutSubscriptionOp returns an OpPutSubscription.
func PutSubscriptionOp(client string, sub Subscription) Op {
	return Op{Kind: OpPutSubscription, Client: client, Subscription: &sub}
}

// DeleteSubscriptionOp returns an OpDeleteSubscription.
func DeleteSubscriptionOp(client, filter string) Op {
	return Op{Kind: OpDeleteSubscription, Client: client, Filter: filter}
}

// EnqueueOp returns an OpEnqueue.
func EnqueueOp(client string, m Message) Op { return Op{Kind: OpEnqueue, Client: client, Message: &m} }

// DequeueThroughOp returns an OpDequeueThrough.
func DequeueThroughOp(client string, seq uint64) Op {
	return Op{Kind: OpDequeueThrough, Client: client, Seq: seq}
}

// PutInflightOp returns an OpPutInflight.
func PutInflightOp(client string, f Inflight) Op {
	return Op{Kind: OpPutInflight, Client: client, Inflight: &f}
}

// DeleteInflightOp returns an OpDeleteInflight.
func DeleteInflightOp(client string, dir InflightDir, packetID uint16) Op {
	return Op{Kind: OpDeleteInflight, Client: client, Dir: dir, PacketID: packetID}
}

// PutRetainedOp returns an OpPutRetained.
func PutRetainedOp(m Message) Op { return Op{Kind: OpPutRetained, Message: &m} }

// DeleteRetainedOp returns an OpDeleteRetained.
func DeleteRetainedOp(topic string) Op { return Op{Kind: OpDeleteRetained, Topic: topic} }

// PutRawOp returns an OpPutRaw. expiresAt is an absolute unix-ms deadline decided by
// the proposer (now + ttl), 0 for none: Apply never reads the clock.
func PutRawOp(key, value []byte, expiresAt int64) Op {
	return Op{Kind: OpPutRaw, Key: key, Value: value, ExpiresAt: expiresAt}
}

// PutRawIfAbsentOp returns an OpPutRaw that leaves an existing key alone.
func PutRawIfAbsentOp(key, value []byte, expiresAt int64) Op {
	return Op{Kind: OpPutRaw, Key: key, Value: value, ExpiresAt: expiresAt, IfAbsent: true}
}

// DeleteRawOp returns an OpDeleteRaw.
func DeleteRawOp(key []byte) Op { return Op{Kind: OpDeleteRaw, Key: key} }

// IncrRawOp returns an OpIncrRaw.
func IncrRawOp(key []byte, delta uint64) Op { return Op{Kind: OpIncrRaw, Key: key, Delta: delta} }

// AppendRawOp returns an OpAppendRaw: append value to the log whose counter is
// counterKey and whose entries are entryPrefix+be64(seq). dedupKey (nil for
// none) makes the append idempotent; dedupExpiresAt (unix ms, 0 = never) is
// stored in the dedup record, for the proposer's sweep. raise lists keys that
// are raised to the new seq in the same op (OpMaxRaw semantics), e.g. the
// author's read cursor. All keys are raw keys (IsRawKey); entryPrefix is a raw
// prefix (IsRawPrefix).
func AppendRawOp(counterKey, entryPrefix, dedupKey, value []byte, dedupExpiresAt int64, raise ...[]byte) Op {
	return Op{Kind: OpAppendRaw, Key: counterKey, Prefix: entryPrefix, DedupKey: dedupKey,
		Value: value, ExpiresAt: dedupExpiresAt, Raise: raise}
}

// PutBodyOp returns an OpPutBody. m's QoS, Retain and subscription
// identifiers are replaced by each reference's.
func PutBodyOp(m Message) Op { return Op{Kind: OpPutBody, Message: &m} }

// EnqueueRefOp returns an OpEnqueueRef.
func EnqueueRefOp(client string, r QueueRef) Op {
	return Op{Kind: OpEnqueueRef, Client: client, Ref: &r}
}

// StageRefOp returns an OpStageRef.
func StageRefOp(client string, r QueueRef) Op {
	return Op{Kind: OpStageRef, Client: client, Ref: &r}
}

// CommitBodyOp returns an OpCommitBody for body id.
func CommitBodyOp(id uint64) Op { return Op{Kind: OpCommitBody, Seq: id} }

// DropStagedOp returns an OpDropStaged for body id.
func DropStagedOp(id uint64) Op { return Op{Kind: OpDropStaged, Seq: id} }

// PutRetainedOwnedOp returns an OpPutRetainedOwned charging m to owner within
// maxCount messages and maxBytes bytes (0 = no bound).
func PutRetainedOwnedOp(m Message, owner string, maxCount, maxBytes uint64) Op {
	return Op{Kind: OpPutRetainedOwned, Message: &m, Owner: owner, MaxCount: maxCount, MaxBytes: maxBytes}
}

// RequireRawOp returns an OpRequireRaw: the batch applies only if the live
// value of raw key equals value byte for byte (an empty value matches an
// empty stored value, not an absent key).
func RequireRawOp(key, value []byte) Op {
	return Op{Kind: OpRequireRaw, Key: key, Value: value}
}

// RequireRawAbsentOp returns an OpRequireRaw that requires raw key to be
// absent (or carrying a TTL, see OpRequireRaw).
func RequireRawAbsentOp(key []byte) Op {
	return Op{Kind: OpRequireRaw, Key: key, IfAbsent: true}
}

// MaxRawOp returns an OpMaxRaw: store max(existing, v) under key.
func MaxRawOp(key []byte, v uint64) Op { return Op{Kind: OpMaxRaw, Key: key, Seq: v} }

// DedupRecordSize is the length of the value OpAppendRaw stores under a dedup
// key: be64 seq, then be64 expires-at (unix ms, 0 = never).
const DedupRecordSize = 16

// ParseDedupRecord decodes a dedup record written by OpAppendRaw (read it with
// GetRaw or ScanRaw): the seq it reported and the expiry the proposer chose.
func ParseDedupRecord(v []byte) (seq uint64, expiresAt int64, err error) {
	if len(v) != DedupRecordSize {
		return 0, 0, fmt.Errorf("%w: dedup record of %d bytes", ErrCorruptRecord, len(v))
	}
	return beUint64(v), int64(beUint64(v[8:])), nil
}

// Result is what one op produced.
type Result struct {
	// Seq is the queue seq assigned by OpEnqueue, the new counter of OpIncrRaw,
	// the entry seq of OpAppendRaw (the earlier one on a dedup hit), or the value
	// OpMaxRaw left stored.
	Seq uint64
	// Found is set when the key existed before: for deletes (and OpPutRetained with
	// an empty payload), for OpPutRaw with IfAbsent, and for OpPutSession (replace).
	// For OpAppendRaw it means a dedup hit (nothing written); for OpMaxRaw that
	// the stored value was already >= the op's (nothing written).
	Found bool
	// Count is the number of records this call removed (OpDequeueThrough,
	// OpDeleteSession: subscriptions + queued + in-flight).
	Count int
	// Resumed is set for an op that an earlier, interrupted Apply of the same index
	// had already committed; the other fields are then zero.
	Resumed bool
	// Err is non-nil when the op was not applied: ErrInvalidOp for every op of a
	// batch that failed validation, or for OpIncrRaw, OpMaxRaw and OpAppendRaw on
	// a stored value that is not a counter (or not a dedup record); such an op
	// writes nothing. ErrConflict for a failing OpRequireRaw and for every op
	// its batch skipped after it. Deterministic: every replica sets the same
	// Err.
	Err error
}

// validateOp checks op and returns an error wrapping ErrInvalidOp. It depends on
// nothing but op, so it is deterministic.
func validateOp(op *Op) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidOp, op.Kind, fmt.Sprintf(format, args...))
	}
	rec := func(err error) error {
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidOp, op.Kind, err)
		}
		return nil
	}
	switch op.Kind {
	case OpPutSession:
		if op.Session == nil {
			return bad("no session")
		}
		if err := rec(op.Session.validate()); err != nil {
			return err
		}
		if err := checkClient(op.Session.ClientID); err != nil {
			return err
		}
		return keyTooLong(sessionKey(op.Session.ClientID), "session")
	case OpDeleteSession:
		if err := checkClient(op.Client); err != nil {
			return err
		}
		return keyTooLong(sessionKey(op.Client), "session")
	case OpPutSubscription:
		if op.Subscription == nil {
			return bad("no subscription")
		}
		if err := checkClient(op.Client); err != nil {
			return err
		}
		if err := rec(op.Subscription.validate()); err != nil {
			return err
		}
		return keyTooLong(subscriptionKey(op.Client, op.Subscription.Filter), "subscription")
	case OpDeleteSubscription:
		if err := checkClient(op.Client); err != nil {
			return err
		}
		if op.Filter == "" {
			return bad("empty filter")
		}
		return keyTooLong(subscriptionKey(op.Client, op.Filter), "subscription")
	case OpEnqueue:
		if op.Message == nil {
			return bad("no message")
		}
		if err := checkClient(op.Client); err != nil {
			return err
		}
		if err := keyTooLong(queueSeqKey(op.Client), "queue"); err != nil {
			return err
		}
		return rec(op.Message.validate())
	case OpDequeueThrough:
		return checkClient(op.Client)
	case OpPutInflight:
		if op.Inflight == nil {
			return bad("no inflight")
		}
		if err := checkClient(op.Client); err != nil {
			return err
		}
		return rec(op.Inflight.validate())
	case OpDeleteInflight:
		if err := checkClient(op.Client); err != nil {
			return err
		}
		if !op.Dir.Valid() {
			return bad("direction %q", byte(op.Dir))
		}
		if op.PacketID == 0 {
			return bad("packet id 0")
		}
		return nil
	case OpPutRetained:
		if op.Message == nil {
			return bad("no message")
		}
		if op.Message.Topic == "" {
			return bad("empty topic")
		}
		if err := keyTooLong(retainedKey(op.Message.Topic), "retained"); err != nil {
			return err
		}
		return rec(op.Message.validate())
	case OpDeleteRetained:
		if op.Topic == "" {
			return bad("empty topic")
		}
		return keyTooLong(retainedKey(op.Topic), "retained")
	case OpPutRaw, OpDeleteRaw, OpIncrRaw:
		if !IsRawKey(op.Key) {
			return bad("key %q outside the raw prefixes %q", truncKey(op.Key), rawPrefixLetters)
		}
		if op.Kind == OpPutRaw {
			if len(op.Value) > MaxRecordSize {
				return bad("value of %d bytes above %d", len(op.Value), MaxRecordSize)
			}
			if op.ExpiresAt < 0 {
				return bad("expires at %d < 0", op.ExpiresAt)
			}
		}
		return nil
	case OpAppendRaw:
		return validateAppendRaw(op, bad)
	case OpMaxRaw:
		if !IsRawKey(op.Key) {
			return bad("key %q outside the raw prefixes %q", truncKey(op.Key), rawPrefixLetters)
		}
		return nil
	case OpPutBody:
		if op.Message == nil {
			return bad("no message")
		}
		return rec(op.Message.validate())
	case OpEnqueueRef, OpStageRef:
		if op.Ref == nil {
			return bad("no ref")
		}
		if err := checkClient(op.Client); err != nil {
			return err
		}
		if err := keyTooLong(queueSeqKey(op.Client), "queue"); err != nil {
			return err
		}
		if err := keyTooLong(stagedKey(0, op.Client), "staged"); err != nil {
			return err
		}
		return rec(op.Ref.validate())
	case OpCommitBody, OpDropStaged:
		if op.Seq == 0 {
			return bad("body 0")
		}
		return nil
	case OpRequireRaw:
		if !IsRawKey(op.Key) {
			return bad("key %q outside the raw prefixes %q", truncKey(op.Key), rawPrefixLetters)
		}
		if len(op.Value) > MaxRecordSize {
			return bad("value of %d bytes above %d", len(op.Value), MaxRecordSize)
		}
		if op.IfAbsent && len(op.Value) > 0 {
			return bad("absent guard with a value")
		}
		return nil
	case OpPutRetainedOwned:
		if op.Message == nil {
			return bad("no message")
		}
		if op.Message.Topic == "" {
			return bad("empty topic")
		}
		if len(op.Owner) > math.MaxUint16 {
			return bad("owner of %d bytes", len(op.Owner))
		}
		if err := keyTooLong(retExpiringKey(op.Owner, op.Message.Topic), "retained owner"); err != nil {
			return err
		}
		return rec(op.Message.validate())
	}
	return bad("unknown kind")
}

// validateBatch validates every op of a batch; the first failure rejects the batch.
func validateBatch(batch []Op) error {
	for i := range batch {
		if err := validateOp(&batch[i]); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	if err := checkGuardsFirst(batch); err != nil {
		return err
	}
	return checkBodyRefs(batch)
}

// checkGuardsFirst rejects an OpRequireRaw after any other kind: a guard
// must decide before its batch writes anything, so that a failing one leaves
// the batch unwritten (and a split commit never lands before a guard).
func checkGuardsFirst(batch []Op) error {
	other := false
	for i := range batch {
		switch batch[i].Kind {
		case OpRequireRaw:
			if other {
				return fmt.Errorf("op %d: %w: %s: guard after another kind of op", i, ErrInvalidOp, OpRequireRaw)
			}
		default:
			other = true
		}
	}
	return nil
}

// checkBodyRefs rejects an OpEnqueueRef naming body 0 (the batch's body)
// with no OpPutBody before it in the batch: it would otherwise resolve to a
// body of an earlier command.
func checkBodyRefs(batch []Op) error {
	body := false
	for i := range batch {
		switch op := &batch[i]; op.Kind {
		case OpPutBody:
			body = true
		case OpEnqueueRef, OpStageRef:
			if op.Ref != nil && op.Ref.Body == 0 && !body {
				return fmt.Errorf("op %d: %w: %s: body 0 with no put_body before it in the batch", i, ErrInvalidOp, op.Kind)
			}
		}
	}
	return nil
}

// truncKey shortens a key for error messages.
func truncKey(k []byte) []byte {
	if len(k) > 64 {
		return k[:64]
	}
	return k
}

// maxRaise bounds OpAppendRaw.Raise.
const maxRaise = 4096

// validateAppendRaw checks an OpAppendRaw: raw keys, an entry prefix that no
// other key of the op lies under (an entry could overwrite it), distinct keys.
func validateAppendRaw(op *Op, bad func(string, ...any) error) error {
	if !IsRawKey(op.Key) {
		return bad("counter key %q outside the raw prefixes %q", truncKey(op.Key), rawPrefixLetters)
	}
	if !IsRawPrefix(op.Prefix) || len(op.Prefix)+8 > maxKeySize {
		return bad("entry prefix %q outside the raw prefixes %q or too long", truncKey(op.Prefix), rawPrefixLetters)
	}
	if bytes.HasPrefix(op.Key, op.Prefix) {
		return bad("counter key %q under the entry prefix", truncKey(op.Key))
	}
	if len(op.DedupKey) > 0 {
		if !IsRawKey(op.DedupKey) {
			return bad("dedup key %q outside the raw prefixes %q", truncKey(op.DedupKey), rawPrefixLetters)
		}
		if bytes.HasPrefix(op.DedupKey, op.Prefix) || bytes.Equal(op.DedupKey, op.Key) {
			return bad("dedup key %q collides with the counter or the entries", truncKey(op.DedupKey))
		}
	}
	if len(op.Value) > MaxRecordSize {
		return bad("value of %d bytes above %d", len(op.Value), MaxRecordSize)
	}
	if op.ExpiresAt < 0 {
		return bad("expires at %d < 0", op.ExpiresAt)
	}
	if len(op.Raise) > maxRaise {
		return bad("%d raise keys above %d", len(op.Raise), maxRaise)
	}
	for i, k := range op.Raise {
		if !IsRawKey(k) {
			return bad("raise key %d %q outside the raw prefixes %q", i, truncKey(k), rawPrefixLetters)
		}
		if bytes.HasPrefix(k, op.Prefix) || bytes.Equal(k, op.Key) || bytes.Equal(k, op.DedupKey) {
			return bad("raise key %d %q collides with the counter, the dedup key or the entries", i, truncKey(k))
		}
	}
	return nil
}
