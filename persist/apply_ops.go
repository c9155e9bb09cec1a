package persist

import (
	"encoding/binary"
	"fmt"
)

// badgerExpiry converts an absolute unix-ms expiry to Badger's unix-seconds
// ExpiresAt, rounding up so that Badger never drops an entry before its time.
func badgerExpiry(ms int64) uint64 {
	if ms <= 0 {
		return 0
	}
	return uint64((ms + 999) / 1000)
}

// applyOp applies one validated op; val is its encoded value (encodeValue).
// Every op is written so that re-running it after a split commit in its middle
// (see txnWriter.split) gives the same result as running it once.
func applyOp(w *txnWriter, op *Op, val []byte) (Result, error) {
	switch op.Kind {
	case OpPutSession:
		return putSession(w, op.Session, val)
	case OpDeleteSession:
		return deleteSession(w, op.Client)
	case OpPutSubscription:
		return putKey(w, subscriptionKey(op.Client, op.Subscription.Filter), val, 0)
	case OpDeleteSubscription:
		return deleteKey(w, subscriptionKey(op.Client, op.Filter))
	case OpEnqueue:
		return enqueue(w, op.Client, op.Message, val)
	case OpDequeueThrough:
		return dequeueThrough(w, op.Client, op.Seq)
	case OpPutInflight:
		return putKey(w, inflightKey(op.Client, op.Inflight.Dir, op.Inflight.PacketID), val, 0)
	case OpDeleteInflight:
		return deleteKey(w, inflightKey(op.Client, op.Dir, op.PacketID))
	case OpPutRetained: // an empty payload deletes [MQTT-3.3.1-6]
		return putRetainedUnowned(w, op.Message.Topic, val, op.Message.Expiry, len(op.Message.Payload) == 0)
	case OpDeleteRetained:
		return putRetainedUnowned(w, op.Topic, nil, 0, true)
	case OpPutRetainedOwned:
		return putRetainedOwned(w, op, val)
	case OpPutBody:
		return putBody(w, op.Message, val)
	case OpEnqueueRef:
		return enqueueRef(w, op.Client, op.Ref, val)
	case OpStageRef:
		return stageRef(w, op.Client, op.Ref, val)
	case OpCommitBody:
		return commitBody(w, op.Seq)
	case OpDropStaged:
		n, err := w.deleteRange(stagedPrefix(op.Seq), nil)
		return Result{Count: n}, err
	case OpPutRaw:
		if op.IfAbsent {
			_, found, err := w.getLive(op.Key)
			if err != nil || found {
				return Result{Found: found}, err
			}
		}
		return Result{}, w.set(op.Key, val, badgerExpiry(op.ExpiresAt))
	case OpDeleteRaw:
		return deleteKey(w, op.Key)
	case OpIncrRaw:
		return incrRaw(w, op.Key, op.Delta)
	case OpAppendRaw:
		return appendRaw(w, op)
	case OpMaxRaw:
		return maxRaw(w, op.Key, op.Seq)
	case OpRequireRaw:
		return requireRaw(w, op)
	}
	return Result{}, fmt.Errorf("%w: unknown kind %d", ErrInvalidOp, op.Kind)
}

func putKey(w *txnWriter, key, val []byte, expiresAt uint64) (Result, error) {
	found, err := w.exists(key)
	if err != nil {
		return Result{}, err
	}
	return Result{Found: found}, w.set(key, val, expiresAt)
}

func deleteKey(w *txnWriter, key []byte) (Result, error) {
	found, err := w.exists(key)
	if err != nil || !found {
		return Result{}, err
	}
	return Result{Found: true}, w.del(key)
}

// loadSession reads and decodes the stored session of client.
func loadSession(w *txnWriter, client string) (*Session, error) {
	key := sessionKey(client)
	v, ok, err := w.get(key)
	if err != nil || !ok {
		return nil, err
	}
	var sess Session
	if err := sess.UnmarshalBinary(v); err != nil {
		return nil, fmt.Errorf("key %q: %w", truncKey(key), err)
	}
	return &sess, nil
}

// putSession replaces the session and its expiry-index entry. The session record
// is written last, so a re-run after a split still sees the old record.
func putSession(w *txnWriter, sess *Session, val []byte) (Result, error) {
	old, err := loadSession(w, sess.ClientID)
	if err != nil {
		return Result{}, err
	}
	oldAt, oldHas := int64(0), false
	if old != nil {
		oldAt, oldHas = old.ExpiresAt()
	}
	newAt, newHas := sess.ExpiresAt()
	if oldHas && (!newHas || oldAt != newAt) {
		if err := w.del(sessionExpKey(oldAt, sess.ClientID)); err != nil {
			return Result{}, err
		}
	}
	if newHas && (!oldHas || oldAt != newAt) {
		if err := w.set(sessionExpKey(newAt, sess.ClientID), nil, 0); err != nil {
			return Result{}, err
		}
	}
	return Result{Found: old != nil}, w.set(sessionKey(sess.ClientID), val, 0)
}

// deleteSession removes the session record last, for the same reason.
func deleteSession(w *txnWriter, client string) (Result, error) {
	count := 0
	for _, p := range []string{pfxSubscription, pfxQueue, pfxInflight} {
		var n int
		var err error
		if p == pfxQueue {
			n, err = deleteQueueRange(w, client, nil, nil) // releases shared bodies
		} else {
			n, err = w.deleteRange(clientPrefix(p, client, 0), nil)
		}
		count += n
		if err != nil {
			return Result{}, err
		}
	}
	old, err := loadSession(w, client)
	if err != nil || old == nil {
		return Result{Count: count}, err
	}
	if at, ok := old.ExpiresAt(); ok {
		if err := w.del(sessionExpKey(at, client)); err != nil {
			return Result{}, err
		}
	}
	return Result{Found: true, Count: count}, w.del(sessionKey(client))
}

// enqueue assigns seq = last + 1 from the client's counter (n/{client}, which
// DeleteSession keeps, so a client's seqs never repeat) and stores the message.
func enqueue(w *txnWriter, client string, m *Message, val []byte) (Result, error) {
	ck := queueSeqKey(client)
	last, err := readCounter(w, ck)
	if err != nil {
		return Result{}, err
	}
	seq := last + 1
	if err := w.set(queueKey(client, seq), val, badgerExpiry(m.Expiry)); err != nil {
		return Result{}, err
	}
	return Result{Seq: seq}, w.set(ck, binary.BigEndian.AppendUint64(nil, seq), 0)
}

func readCounter(w *txnWriter, key []byte) (uint64, error) {
	v, ok, err := w.getLive(key)
	if err != nil || !ok {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("key %q: %w: counter of %d bytes", truncKey(key), ErrCorruptRecord, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// incrRaw adds delta to a raw counter. A value that is not 8 bytes is not a
// counter: the op fails (Result.Err) and writes nothing.
func incrRaw(w *txnWriter, key []byte, delta uint64) (Result, error) {
	v, ok, err := w.getLive(key)
	if err != nil {
		return Result{}, err
	}
	var n uint64
	if ok {
		if len(v) != 8 {
			return Result{Err: fmt.Errorf("%w: incr_raw: value of %q is %d bytes, not a counter", ErrInvalidOp, truncKey(key), len(v))}, nil
		}
		n = binary.BigEndian.Uint64(v)
	}
	n += delta
	return Result{Seq: n}, w.set(key, binary.BigEndian.AppendUint64(nil, n), 0)
}
