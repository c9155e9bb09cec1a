package persist

import (
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// RefSeqs finds the queue seqs a commit_body assigned: for each clients[i],
// the seq of the first queue entry with seq > after[i] that references body
// (0 when there is none: dequeued or expired already, or never staged). A
// proposer that staged a fan-out reads each target's QueueSeq before its
// first command and passes it as after, so each scan only reads the entries
// enqueued since. One read transaction.
func (s *Store) RefSeqs(body uint64, clients []string, after []uint64) ([]uint64, error) {
	if len(after) != len(clients) {
		return nil, fmt.Errorf("%w: ref seqs: %d clients, %d cursors", ErrInvalidOp, len(clients), len(after))
	}
	out := make([]uint64, len(clients))
	err := s.view(func(txn *badger.Txn) error {
		for i, client := range clients {
			if after[i] == ^uint64(0) {
				continue
			}
			err := scan(txn, clientPrefix(pfxQueue, client, 0), queueKey(client, after[i]+1), false, func(item *badger.Item) (bool, error) {
				if item.ValueSize() > maxRefRecord {
					return true, nil // a full message, not a reference
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
					return false, fmt.Errorf("key %q: %w", truncKey(item.Key()), err)
				}
				if ref == nil || ref.Body != body {
					return true, nil
				}
				seq, ok := seqFromQueueKey(item.Key())
				if !ok {
					return false, fmt.Errorf("key %q: %w: bad queue key", truncKey(item.Key()), ErrCorruptRecord)
				}
				out[i] = seq
				return false, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
