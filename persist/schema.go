package persist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"
)

// The schema record m/schema is schemaMagic followed by the schema version as a
// big-endian uint32. It is written once, when a generation is created, and is
// local to the node (snapshots do not carry it; Restore writes its own).
const (
	schemaMagic   = "IMQTTFSM"
	schemaVersion = 1
)

func schemaRecord() []byte {
	return binary.BigEndian.AppendUint32([]byte(schemaMagic), schemaVersion)
}

// checkSchema verifies the schema record of db, or writes it if db is empty.
// Returns ErrForeignDir for a database without (or with someone else's) record,
// ErrSchemaVersion for a newer version.
func checkSchema(db *badger.DB, where string) error {
	var rec []byte
	var nonEmpty bool
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keySchema)
		if errors.Is(err, badger.ErrKeyNotFound) {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			it.Rewind()
			nonEmpty = it.Valid()
			return nil
		}
		if err != nil {
			return err
		}
		rec, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: read schema of %s: %w", ErrCorrupt, where, err)
	}
	if rec == nil {
		if nonEmpty {
			return fmt.Errorf("%w: %s is a Badger database without an imqtt schema record", ErrForeignDir, where)
		}
		err := db.Update(func(txn *badger.Txn) error { return txn.Set(keySchema, schemaRecord()) })
		if err != nil {
			return fmt.Errorf("write schema of %s: %w", where, mapWriteErr(err))
		}
		return nil
	}
	if len(rec) != len(schemaMagic)+4 || !bytes.HasPrefix(rec, []byte(schemaMagic)) {
		return fmt.Errorf("%w: %s has schema record %q, not imqtt's", ErrForeignDir, where, truncKey(rec))
	}
	v := binary.BigEndian.Uint32(rec[len(schemaMagic):])
	switch {
	case v > schemaVersion:
		return fmt.Errorf("%w: %s has schema version %d; this build knows up to %d", ErrSchemaVersion, where, v, schemaVersion)
	case v == 0:
		return fmt.Errorf("%w: %s has schema version 0", ErrCorrupt, where)
	}
	return nil
}
