package persist

import (
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// The node id (m/node_id) is local: it names the node that owns this directory,
// is written directly (not through Apply), and is neither carried by snapshots
// nor replaced by Restore.

func readNodeID(db *badger.DB) ([]byte, error) {
	var id []byte
	err := db.View(func(txn *badger.Txn) error {
		v, _, err := getCopy(txn, keyNodeID)
		id = v
		return err
	})
	return id, mapReadErr(err)
}

// NodeID returns the node id recorded in the store, "" if none.
func (s *Store) NodeID() (string, error) {
	g, err := s.acquire()
	if err != nil {
		return "", err
	}
	defer g.release()
	id, err := readNodeID(g.db)
	return string(id), err
}

// ClaimNodeID records id as the owner of the store if none is recorded; if the
// same id is recorded it does nothing. A different recorded id fails with
// ErrNodeIDMismatch, so a node never starts on another node's data.
func (s *Store) ClaimNodeID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty node id", ErrInvalidOp)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	g, err := s.acquire()
	if err != nil {
		return err
	}
	defer g.release()
	cur, err := readNodeID(g.db)
	if err != nil {
		return err
	}
	if cur != nil {
		if string(cur) != id {
			return fmt.Errorf("%w: %s belongs to node %q, not %q", ErrNodeIDMismatch, s.where(g), cur, id)
		}
		return nil
	}
	if err := s.checkSpace(g); err != nil {
		return err
	}
	err = g.db.Update(func(txn *badger.Txn) error { return txn.Set(keyNodeID, []byte(id)) })
	return mapWriteErr(err)
}
