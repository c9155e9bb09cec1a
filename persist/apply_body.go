package persist

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Shared bodies (DESIGN.md "Shared bodies"). A fan-out publish stores its
// message once (OpPutBody: a/{id}) and one small QueueRef per target queue
// (OpEnqueueRef: q/{client}{seq}); t/c{id} counts the references. Every key of
// one body (a/, t/c and each q/ reference) carries the same Badger TTL, the
// body's expiry, so whatever a replica's clock hides of them it hides all
// together, and decisions taken on a replica that already sees them expired
// only write keys that are expired there too.

// room makes sure the next n writes of at most size bytes in total fit in
// the current transaction, splitting first if they would not: a group of
// writes that must be committed together (a reference and its count) is
// never cut by a split.
func (w *txnWriter) room(n int, size int64) error {
	if w.count == 0 {
		return nil
	}
	if w.count+int64(n)+reserveEntries >= w.maxCount || w.size+size+int64(n)*12+reserveBytes >= w.maxSize {
		return w.split()
	}
	return nil
}

// putBody is OpPutBody: id = m/body_seq + 1; the body, then the counter last
// (a re-run after a split recomputes the same id).
func putBody(w *txnWriter, m *Message, val []byte) (Result, error) {
	last, err := readCounter(w, keyBodySeq)
	if err != nil {
		return Result{}, err
	}
	id := last + 1
	if err := w.set(bodyKey(id), val, badgerExpiry(m.Expiry)); err != nil {
		return Result{}, err
	}
	return Result{Seq: id}, w.set(keyBodySeq, binary.BigEndian.AppendUint64(nil, id), 0)
}

// enqueueRef is OpEnqueueRef: the reference, the body's count + 1 and the
// queue counter, committed together (room).
func enqueueRef(w *txnWriter, client string, r *QueueRef, val []byte) (Result, error) {
	body, val, err := resolveBody(w, r, val)
	if err != nil {
		return Result{}, err
	}
	ck := queueSeqKey(client)
	if err := w.room(3, int64(len(val)+len(ck)+2*len(pfxQueue)+64+len(client)*2)); err != nil {
		return Result{}, err
	}
	last, err := readCounter(w, ck)
	if err != nil {
		return Result{}, err
	}
	seq := last + 1
	ttl := badgerExpiry(r.Expiry)
	if err := w.set(queueKey(client, seq), val, ttl); err != nil {
		return Result{}, err
	}
	if err := addBodyRefs(w, body, 1, ttl); err != nil {
		return Result{}, err
	}
	return Result{Seq: seq}, w.set(ck, binary.BigEndian.AppendUint64(nil, seq), 0)
}

// resolveBody returns the body id r names (0: the current body counter,
// which the batch rule makes the batch's own body) and r's value with it.
func resolveBody(w *txnWriter, r *QueueRef, val []byte) (uint64, []byte, error) {
	if r.Body != 0 {
		return r.Body, val, nil
	}
	id, err := readCounter(w, keyBodySeq)
	if err != nil {
		return 0, nil, err
	}
	rr := *r
	rr.Body = id
	return id, rr.appendTo(make([]byte, 0, len(val)+8)), nil
}

// stagedPrefix is t/s{id be64}: the references staged for body id.
func stagedPrefix(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pfxStaged), id)
}

func stagedKey(id uint64, client string) []byte {
	return append(stagedPrefix(id), client...)
}

// stageRef is OpStageRef: one write, no TTL (a staging is deterministic
// state until OpCommitBody or OpDropStaged removes it).
func stageRef(w *txnWriter, client string, r *QueueRef, val []byte) (Result, error) {
	body, val, err := resolveBody(w, r, val)
	if err != nil {
		return Result{}, err
	}
	return Result{Seq: body}, w.set(stagedKey(body, client), val, 0)
}

// commitBody is OpCommitBody: every staged reference of body id is enqueued
// and its staging deleted in one group (room), so a re-run after a split
// enqueues each exactly once.
func commitBody(w *txnWriter, id uint64) (Result, error) {
	prefix := stagedPrefix(id)
	type staged struct {
		key []byte
		val []byte
	}
	n := 0
	for {
		var chunk []staged
		it := w.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		for it.Seek(prefix); it.ValidForPrefix(prefix) && len(chunk) < rangeChunk; it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				it.Close()
				return Result{Count: n}, err
			}
			chunk = append(chunk, staged{key: it.Item().KeyCopy(nil), val: v})
		}
		it.Close()
		if len(chunk) == 0 {
			return Result{Seq: id, Count: n}, nil
		}
		for _, e := range chunk {
			client := string(e.key[len(prefix):])
			var r QueueRef
			if err := r.UnmarshalBinary(e.val); err != nil {
				return Result{Count: n}, fmt.Errorf("key %q: %w", truncKey(e.key), err)
			}
			if err := w.room(4, int64(len(e.key)+len(e.val)+3*len(client)+128)); err != nil {
				return Result{Count: n}, err
			}
			if err := w.del(e.key); err != nil {
				return Result{Count: n}, err
			}
			if _, err := enqueueRef(w, client, &r, e.val); err != nil {
				return Result{Count: n}, err
			}
			n++
		}
	}
}

// addBodyRefs adds delta to body id's reference count (absent or expired = 0).
// At 0 the count and the body are deleted.
func addBodyRefs(w *txnWriter, id uint64, delta int64, ttl uint64) error {
	k := bodyRefsKey(id)
	v, ok, err := w.get(k)
	if err != nil {
		return err
	}
	var n uint64
	if ok && len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	switch {
	case delta > 0:
		n += uint64(delta)
	case !ok:
		return nil // already gone (expired, or released by a replica-clock race)
	case n <= uint64(-delta):
		if err := w.del(k); err != nil {
			return err
		}
		return w.del(bodyKey(id))
	default:
		n -= uint64(-delta)
	}
	return w.set(k, binary.BigEndian.AppendUint64(nil, n), ttl)
}

// deleteQueueRange deletes client's queue entries in [from (nil: the start),
// upto (nil: the end)] and releases the bodies their references hold. Like
// txnWriter.deleteRange it works in chunks (a split may fall between
// entries); each reference is deleted together with its count update.
func deleteQueueRange(w *txnWriter, client string, from, upto []byte) (int, error) {
	prefix := clientPrefix(pfxQueue, client, 0)
	total := 0
	seek := prefix
	if from != nil {
		seek = from
	}
	type entry struct {
		key []byte
		ref *QueueRef
		ttl uint64
	}
	for {
		var chunk []entry
		done := true
		it := w.txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			if upto != nil && bytes.Compare(k, upto) > 0 {
				break
			}
			if len(chunk) == rangeChunk {
				done = false
				break
			}
			e := entry{key: k, ttl: item.ExpiresAt()}
			// A reference is small; a bigger value is a Message, not read.
			if item.ValueSize() <= maxRefRecord {
				err := item.Value(func(v []byte) error { // no copy unless it is a reference
					if !isRefValue(v) {
						return nil
					}
					e.ref = &QueueRef{}
					return e.ref.UnmarshalBinary(v)
				})
				if err != nil {
					it.Close()
					return total, fmt.Errorf("key %q: %w", truncKey(k), err)
				}
			}
			chunk = append(chunk, e)
		}
		it.Close()
		for _, e := range chunk {
			if e.ref == nil {
				if err := w.del(e.key); err != nil {
					return total, err
				}
				continue
			}
			if err := w.room(4, int64(len(e.key))+64); err != nil {
				return total, err
			}
			if err := w.del(e.key); err != nil {
				return total, err
			}
			if err := addBodyRefs(w, e.ref.Body, -1, e.ttl); err != nil {
				return total, err
			}
		}
		total += len(chunk)
		if done {
			return total, nil
		}
		seek = append(append([]byte{}, chunk[len(chunk)-1].key...), 0)
	}
}

// StaleStaged returns up to limit ids of bodies with staged references whose
// expiry is at or before now: fan-outs whose commit never came (the
// proposer failed or crashed between their commands). Propose
// OpDropStaged for them.
func (s *Store) StaleStaged(now time.Time, limit int) ([]uint64, error) {
	var out []uint64
	nowMs := now.UnixMilli()
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(pfxStaged), PrefetchValues: false})
		defer it.Close()
		for it.Seek([]byte(pfxStaged)); it.ValidForPrefix([]byte(pfxStaged)) && len(out) < limit; {
			k := it.Item().Key()
			if len(k) < len(pfxStaged)+8 {
				return fmt.Errorf("key %q: %w: short staged key", truncKey(k), ErrCorruptRecord)
			}
			id := beUint64(k[len(pfxStaged):])
			var r QueueRef
			if err := decodeItem(it.Item(), &r); err != nil {
				return err
			}
			if r.Expiry != 0 && r.Expiry <= nowMs {
				out = append(out, id)
			}
			if id == ^uint64(0) {
				break
			}
			it.Seek(stagedPrefix(id + 1))
		}
		return nil
	})
	return out, err
}
