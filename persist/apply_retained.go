package persist

import (
	"encoding/binary"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// Retained quota (DESIGN.md "Retained quota"). OpPutRetainedOwned charges a
// retained message to its owner: t/o{topic} records who owns the message at
// topic and how many bytes it counts, t/u{owner} the owner's totals, and
// t/x{len16 owner}{topic} lists the owner's messages that carry an expiry, so
// that a publish over the bound can drop the ones expired by its own clock
// (Message.Created, stamped by the proposer) first. None of these keys has a
// Badger TTL: every decision is taken on replicated state and the op alone.

// retOwner is the value of t/o{topic}.
type retOwner struct {
	owner  string
	size   uint64
	expiry int64
}

func retOwnerKey(topic string) []byte { return append([]byte(pfxRetOwner), topic...) }

func retUsageKey(owner string) []byte { return append([]byte(pfxRetUsage), owner...) }

func retExpiringKey(owner, topic string) []byte {
	return append(clientPrefix(pfxRetExpiring, owner, len(topic)), topic...)
}

func (o *retOwner) encode() []byte {
	b := appendString(make([]byte, 0, 16+len(o.owner)), o.owner)
	b = binary.AppendUvarint(b, o.size)
	return binary.AppendUvarint(b, uint64(o.expiry))
}

func decodeRetOwner(k, v []byte) (retOwner, error) {
	d := newDecoder(v, "retained owner")
	var o retOwner
	o.owner = d.str("owner")
	o.size = d.uvarint()
	o.expiry = d.int64v("expiry")
	if err := d.finish(); err != nil {
		return o, fmt.Errorf("key %q: %w", truncKey(k), err)
	}
	return o, nil
}

// RetainedUsage is one owner's retained messages: how many and their
// topic+payload bytes.
type RetainedUsage struct {
	Count uint64
	Bytes uint64
}

func decodeUsage(k, v []byte) (RetainedUsage, error) {
	if len(v) != 16 {
		return RetainedUsage{}, fmt.Errorf("key %q: %w: usage of %d bytes", truncKey(k), ErrCorruptRecord, len(v))
	}
	return RetainedUsage{Count: beUint64(v), Bytes: beUint64(v[8:])}, nil
}

func loadUsage(w *txnWriter, owner string) (RetainedUsage, error) {
	k := retUsageKey(owner)
	v, ok, err := w.get(k)
	if err != nil || !ok {
		return RetainedUsage{}, err
	}
	return decodeUsage(k, v)
}

func storeUsage(w *txnWriter, owner string, u RetainedUsage) error {
	k := retUsageKey(owner)
	if u.Count == 0 {
		return w.del(k)
	}
	v := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(make([]byte, 0, 16), u.Count), u.Bytes)
	return w.set(k, v, 0)
}

func loadRetOwner(w *txnWriter, topic string) (*retOwner, error) {
	k := retOwnerKey(topic)
	v, ok, err := w.get(k)
	if err != nil || !ok {
		return nil, err
	}
	o, err := decodeRetOwner(k, v)
	return &o, err
}

// releaseRetained removes topic's owner record and takes it off its owner's
// usage; no-op for an unowned topic. Used by every retained write.
func releaseRetained(w *txnWriter, topic string, o *retOwner) error {
	if o == nil {
		return nil
	}
	if err := w.room(4, int64(3*len(topic)+2*len(o.owner)+64)); err != nil {
		return err
	}
	u, err := loadUsage(w, o.owner)
	if err != nil {
		return err
	}
	u.Count = max(u.Count, 1) - 1
	u.Bytes -= min(u.Bytes, o.size)
	if u.Count == 0 {
		u.Bytes = 0
	}
	if o.expiry > 0 {
		if err := w.del(retExpiringKey(o.owner, topic)); err != nil {
			return err
		}
	}
	if err := storeUsage(w, o.owner, u); err != nil {
		return err
	}
	return w.del(retOwnerKey(topic))
}

// putRetainedUnowned is OpPutRetained / OpDeleteRetained: the message (or
// its deletion), and whatever owner the topic had is released.
func putRetainedUnowned(w *txnWriter, topic string, val []byte, expiry int64, del bool) (Result, error) {
	o, err := loadRetOwner(w, topic)
	if err != nil {
		return Result{}, err
	}
	if err := releaseRetained(w, topic, o); err != nil {
		return Result{}, err
	}
	if del {
		return deleteKey(w, retainedKey(topic))
	}
	return putKey(w, retainedKey(topic), val, badgerExpiry(expiry))
}

// putRetainedOwned is OpPutRetainedOwned.
func putRetainedOwned(w *txnWriter, op *Op, val []byte) (Result, error) {
	m := op.Message
	old, err := loadRetOwner(w, m.Topic)
	if err != nil {
		return Result{}, err
	}
	if len(m.Payload) == 0 { // [MQTT-3.3.1-6]: always allowed, frees the quota
		if err := releaseRetained(w, m.Topic, old); err != nil {
			return Result{}, err
		}
		return deleteKey(w, retainedKey(m.Topic))
	}
	size := uint64(len(m.Topic) + len(m.Payload))
	u, err := loadUsage(w, op.Owner)
	if err != nil {
		return Result{}, err
	}
	if over(grow(u, old, op.Owner, size), op) {
		// Make room from the owner's own expired messages first.
		if err := sweepExpiredRetained(w, op.Owner, m.Created); err != nil {
			return Result{}, err
		}
		if old, err = loadRetOwner(w, m.Topic); err != nil {
			return Result{}, err
		}
		if u, err = loadUsage(w, op.Owner); err != nil {
			return Result{}, err
		}
		if after := grow(u, old, op.Owner, size); over(after, op) {
			return Result{Err: fmt.Errorf("%w: %s: owner %q would hold %d retained messages, %d bytes (bounds %d, %d)",
				ErrQuotaExceeded, op.Kind, op.Owner, after.Count, after.Bytes, op.MaxCount, op.MaxBytes)}, nil
		}
	}
	if err := releaseRetained(w, m.Topic, old); err != nil {
		return Result{}, err
	}
	// Usage, index, owner record and message are committed together.
	if err := w.room(4, int64(len(val)+4*len(m.Topic)+3*len(op.Owner)+96)); err != nil {
		return Result{}, err
	}
	if u, err = loadUsage(w, op.Owner); err != nil {
		return Result{}, err
	}
	u.Count++
	u.Bytes += size
	if err := storeUsage(w, op.Owner, u); err != nil {
		return Result{}, err
	}
	if m.Expiry > 0 {
		if err := w.set(retExpiringKey(op.Owner, m.Topic), binary.BigEndian.AppendUint64(nil, uint64(m.Expiry)), 0); err != nil {
			return Result{}, err
		}
	}
	own := retOwner{owner: op.Owner, size: size, expiry: m.Expiry}
	if err := w.set(retOwnerKey(m.Topic), own.encode(), 0); err != nil {
		return Result{}, err
	}
	return putKey(w, retainedKey(m.Topic), val, badgerExpiry(m.Expiry))
}

// grow is owner's usage u after it takes the message at a topic now owned by
// old (nil: nobody) with size bytes.
func grow(u RetainedUsage, old *retOwner, owner string, size uint64) RetainedUsage {
	if old != nil && old.owner == owner {
		u.Bytes -= min(u.Bytes, old.size)
	} else {
		u.Count++
	}
	u.Bytes += size
	return u
}

func over(u RetainedUsage, op *Op) bool {
	return (op.MaxCount > 0 && u.Count > op.MaxCount) || (op.MaxBytes > 0 && u.Bytes > op.MaxBytes)
}

// sweepExpiredRetained drops owner's retained messages whose expiry is at or
// before nowMs (the op's own clock, so every replica drops the same ones).
func sweepExpiredRetained(w *txnWriter, owner string, nowMs int64) error {
	prefix := clientPrefix(pfxRetExpiring, owner, 0)
	var topics []string
	it := w.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			it.Close()
			return err
		}
		if len(v) == 8 && int64(beUint64(v)) <= nowMs {
			topics = append(topics, string(item.Key()[len(prefix):]))
		}
	}
	it.Close()
	for _, t := range topics {
		o, err := loadRetOwner(w, t)
		if err != nil {
			return err
		}
		if err := releaseRetained(w, t, o); err != nil {
			return err
		}
		if o == nil { // a stale index entry
			if err := w.del(retExpiringKey(owner, t)); err != nil {
				return err
			}
			continue
		}
		if err := w.del(retainedKey(t)); err != nil {
			return err
		}
	}
	return nil
}

// RetainedUsage returns owner's retained count and bytes as charged by
// OpPutRetainedOwned (expired messages count until a write drops them).
func (s *Store) RetainedUsage(owner string) (RetainedUsage, error) {
	var u RetainedUsage
	err := s.view(func(txn *badger.Txn) error {
		k := retUsageKey(owner)
		v, ok, err := getCopy(txn, k)
		if err != nil || !ok {
			return err
		}
		u, err = decodeUsage(k, v)
		return err
	})
	return u, err
}

// RetainedOwner returns who owns the retained message of topic and how many
// bytes it is charged; ok is false for an unowned (or absent) topic.
func (s *Store) RetainedOwner(topic string) (owner string, size uint64, ok bool, err error) {
	err = s.view(func(txn *badger.Txn) error {
		k := retOwnerKey(topic)
		v, found, err := getCopy(txn, k)
		if err != nil || !found {
			return err
		}
		o, err := decodeRetOwner(k, v)
		owner, size, ok = o.owner, o.size, err == nil
		return err
	})
	return owner, size, ok, err
}
