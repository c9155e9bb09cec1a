package persist

import (
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Reads see the latest committed state (never a half-applied entry, unless an
// Apply failed after a split commit; see Apply). Records are decoded strictly: a
// damaged record fails the read with ErrCorruptRecord and its key.

// view runs fn in a read-only transaction of the current generation.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	g, err := s.acquire()
	if err != nil {
		return err
	}
	defer g.release()
	return mapReadErr(g.db.View(fn))
}

// scan calls fn for every live key with prefix, in key order, starting at
// start (nil: the prefix). Values are prefetched when values is true.
func scan(txn *badger.Txn, prefix, start []byte, values bool, fn func(item *badger.Item) (bool, error)) error {
	return scanN(txn, prefix, start, values, maxPrefetch, fn)
}

// maxPrefetch is the most values an iterator reads ahead.
const maxPrefetch = 64

// scanN is scan for a caller that stops after about want items: the iterator
// reads at most that many values ahead (Badger parses PrefetchSize items on the
// first Next, whatever the caller keeps).
func scanN(txn *badger.Txn, prefix, start []byte, values bool, want int, fn func(item *badger.Item) (bool, error)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: values, PrefetchSize: min(max(want, 1), maxPrefetch)})
	defer it.Close()
	if start == nil {
		start = prefix
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		more, err := fn(it.Item())
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func decodeItem(item *badger.Item, v interface{ UnmarshalBinary([]byte) error }) error {
	err := item.Value(func(val []byte) error { return v.UnmarshalBinary(val) })
	if err != nil {
		return fmt.Errorf("key %q: %w", truncKey(item.Key()), err)
	}
	return nil
}

// Session returns client's session, or ErrNotFound.
func (s *Store) Session(client string) (Session, error) {
	var sess Session
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(sessionKey(client))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("session %q: %w", client, ErrNotFound)
		}
		if err != nil {
			return err
		}
		return decodeItem(item, &sess)
	})
	return sess, err
}

// EachSession calls fn for every session in client-id order; an error from fn
// stops the scan and is returned.
func (s *Store) EachSession(fn func(Session) error) error {
	return s.view(func(txn *badger.Txn) error {
		return scan(txn, []byte(pfxSession), nil, true, func(item *badger.Item) (bool, error) {
			var sess Session
			if err := decodeItem(item, &sess); err != nil {
				return false, err
			}
			return true, fn(sess)
		})
	})
}

// Sessions returns every session in client-id order.
func (s *Store) Sessions() ([]Session, error) {
	var out []Session
	err := s.EachSession(func(sess Session) error { out = append(out, sess); return nil })
	return out, err
}

// ExpiredSessions returns the client ids of disconnected sessions whose expiry
// deadline (DisconnectedAt + SessionExpiry) is at or before now, earliest first.
// The store never deletes them itself: the leader proposes OpDeleteSession.
func (s *Store) ExpiredSessions(now time.Time) ([]string, error) {
	limit := now.UnixMilli()
	var out []string
	err := s.view(func(txn *badger.Txn) error {
		return scan(txn, []byte(pfxSessionExp), nil, false, func(item *badger.Item) (bool, error) {
			k := item.Key()
			if len(k) < len(pfxSessionExp)+8 {
				return false, fmt.Errorf("key %q: %w: short expiry index key", truncKey(k), ErrCorruptRecord)
			}
			at := int64(beUint64(k[len(pfxSessionExp):]))
			if at > limit {
				return false, nil
			}
			out = append(out, string(k[len(pfxSessionExp)+8:]))
			return true, nil
		})
	})
	return out, err
}

// Subscriptions returns client's subscriptions in filter order.
func (s *Store) Subscriptions(client string) ([]Subscription, error) {
	var out []Subscription
	err := s.view(func(txn *badger.Txn) error {
		return scan(txn, clientPrefix(pfxSubscription, client, 0), nil, true, func(item *badger.Item) (bool, error) {
			var sub Subscription
			if err := decodeItem(item, &sub); err != nil {
				return false, err
			}
			out = append(out, sub)
			return true, nil
		})
	})
	return out, err
}

// EachSubscription calls fn for every subscription of every client.
func (s *Store) EachSubscription(fn func(client string, sub Subscription) error) error {
	return s.view(func(txn *badger.Txn) error {
		return scan(txn, []byte(pfxSubscription), nil, true, func(item *badger.Item) (bool, error) {
			client, _, ok := clientFromLenPrefixed(item.Key(), pfxSubscription)
			if !ok {
				return false, fmt.Errorf("key %q: %w: bad subscription key", truncKey(item.Key()), ErrCorruptRecord)
			}
			var sub Subscription
			if err := decodeItem(item, &sub); err != nil {
				return false, err
			}
			return true, fn(client, sub)
		})
	})
}

// QueuedMessage is a queued message with its seq.
type QueuedMessage struct {
	Seq     uint64
	Message Message
}

// Queue returns up to limit (<= 0: no limit) of client's queued messages with seq
// > afterSeq, in seq order. Messages whose Expiry is at or before now are
// skipped (Badger's TTL removes them too, but only to the second); a zero now
// skips nothing.
func (s *Store) Queue(client string, afterSeq uint64, limit int, now time.Time) ([]QueuedMessage, error) {
	var out []QueuedMessage
	err := s.view(func(txn *badger.Txn) error {
		var start []byte
		if afterSeq < ^uint64(0) {
			start = queueKey(client, afterSeq+1)
		} else {
			return nil
		}
		want := limit
		if want <= 0 {
			want = maxPrefetch
		}
		return scanN(txn, clientPrefix(pfxQueue, client, 0), start, true, want, func(item *badger.Item) (bool, error) {
			seq, ok := seqFromQueueKey(item.Key())
			if !ok {
				return false, fmt.Errorf("key %q: %w: bad queue key", truncKey(item.Key()), ErrCorruptRecord)
			}
			var qm QueuedMessage
			qm.Seq = seq
			found, err := decodeQueueItem(txn, item, &qm.Message)
			if err != nil {
				return false, err
			}
			if !found { // a reference whose body expired with it
				return true, nil
			}
			if !now.IsZero() && qm.Message.Expired(now) {
				return true, nil
			}
			out = append(out, qm)
			return limit <= 0 || len(out) < limit, nil
		})
	})
	return out, err
}

// QueueLen returns the number of client's queued messages and their stored size
// in bytes (a reference counts its body's size). It reads keys (and the small
// values of references) only; messages past their Expiry but not yet past
// Badger's TTL (up to a second) are counted.
func (s *Store) QueueLen(client string) (count int, bytes int64, err error) {
	err = s.view(func(txn *badger.Txn) error {
		return scan(txn, clientPrefix(pfxQueue, client, 0), nil, false, func(item *badger.Item) (bool, error) {
			count++
			n, err := queueItemSize(txn, item)
			bytes += n
			return true, err
		})
	})
	return count, bytes, err
}

// QueueSeq returns the last seq assigned to client's queue (0 if none ever was).
// It survives DeleteSession.
func (s *Store) QueueSeq(client string) (uint64, error) {
	var seq uint64
	err := s.view(func(txn *badger.Txn) error {
		v, ok, err := getCopy(txn, queueSeqKey(client))
		if err != nil || !ok {
			return err
		}
		if len(v) != 8 {
			return fmt.Errorf("key %q: %w: counter of %d bytes", queueSeqKey(client), ErrCorruptRecord, len(v))
		}
		seq = beUint64(v)
		return nil
	})
	return seq, err
}

// Inflight returns client's in-flight messages in key order: inbound ('i') first,
// then outbound ('o'), each by packet id. Expired messages are returned too: the
// broker decides what to do with them.
func (s *Store) Inflight(client string) ([]Inflight, error) {
	var out []Inflight
	err := s.view(func(txn *badger.Txn) error {
		return scan(txn, clientPrefix(pfxInflight, client, 0), nil, true, func(item *badger.Item) (bool, error) {
			var f Inflight
			if err := decodeItem(item, &f); err != nil {
				return false, err
			}
			out = append(out, f)
			return true, nil
		})
	})
	return out, err
}

// Retained returns the retained message of topic, or ErrNotFound (also when it
// has expired by now; a zero now skips that check).
func (s *Store) Retained(topic string, now time.Time) (Message, error) {
	var m Message
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(retainedKey(topic))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("retained %q: %w", topic, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := decodeItem(item, &m); err != nil {
			return err
		}
		if !now.IsZero() && m.Expired(now) {
			return fmt.Errorf("retained %q: %w", topic, ErrNotFound)
		}
		return nil
	})
	return m, err
}

// EachRetained calls fn for every retained message not expired by now (a zero now
// skips the check), in topic order, without loading them all. An error from fn
// stops the scan and is returned.
func (s *Store) EachRetained(now time.Time, fn func(Message) error) error {
	return s.view(func(txn *badger.Txn) error {
		return scan(txn, []byte(pfxRetained), nil, true, func(item *badger.Item) (bool, error) {
			var m Message
			if err := decodeItem(item, &m); err != nil {
				return false, err
			}
			if !now.IsZero() && m.Expired(now) {
				return true, nil
			}
			return true, fn(m)
		})
	})
}

// decodeQueueItem decodes a queue entry into m: a Message, or a QueueRef
// resolved against its shared body. found is false for a reference whose
// body is gone (it expired: body and references share their TTL).
func decodeQueueItem(txn *badger.Txn, item *badger.Item, m *Message) (found bool, err error) {
	var ref *QueueRef
	err = item.Value(func(val []byte) error {
		if !isRefValue(val) {
			return m.UnmarshalBinary(val)
		}
		ref = &QueueRef{}
		return ref.UnmarshalBinary(val)
	})
	if err != nil {
		return false, fmt.Errorf("key %q: %w", truncKey(item.Key()), err)
	}
	if ref == nil {
		return true, nil
	}
	body, err := txn.Get(bodyKey(ref.Body))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var b Message
	if err := decodeItem(body, &b); err != nil {
		return false, err
	}
	*m = ref.resolve(b)
	return true, nil
}

// queueItemSize is the stored size of a queue entry; for a reference, its
// body's (0 if the body is gone).
func queueItemSize(txn *badger.Txn, item *badger.Item) (int64, error) {
	if item.ValueSize() > maxRefRecord {
		return item.ValueSize(), nil
	}
	var ref *QueueRef
	err := item.Value(func(val []byte) error {
		if !isRefValue(val) {
			return nil
		}
		ref = &QueueRef{}
		return ref.UnmarshalBinary(val)
	})
	if err != nil {
		return 0, fmt.Errorf("key %q: %w", truncKey(item.Key()), err)
	}
	if ref == nil {
		return item.ValueSize(), nil
	}
	body, err := txn.Get(bodyKey(ref.Body))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return body.ValueSize(), nil
}
