package persist

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/imqtt/imqtt/internal/logfield"
)

// spaceCheckEvery is how many snapshot bytes Restore loads between free-space
// checks.
const spaceCheckEvery = 4 << 20

// Restore replaces the whole state with a snapshot stream written by Snapshot.
//
// On disk it loads the stream into a new generation directory next to the
// current one, verifies frame structure, count and checksum, closes that
// database (which flushes and syncs it), switches CURRENT to it atomically,
// reopens it and only then retires the old generation. Readers keep using the old
// generation until the switch and never see a partial restore. A truncated or
// corrupt stream fails with ErrCorrupt (an I/O error from r is returned as is)
// and leaves the store exactly as it was; a crash at any point leaves either the
// old or the new state (Open removes the leftover). In memory the new database
// is built the same way and swapped in.
//
// After Restore, AppliedIndex is the snapshot's index; the local node id is kept.
func (s *Store) Restore(r io.Reader) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	old, err := s.acquire()
	if err != nil {
		return err
	}
	oldHeld := true
	defer func() {
		if oldHeld {
			old.release()
		}
	}()
	nodeID, err := readNodeID(old.db)
	if err != nil {
		return err
	}
	if err := s.checkSpace(old); err != nil {
		return err
	}

	ng := &gen{}
	if s.cfg.InMemory {
		if ng.db, err = badger.Open(s.badgerOptions("")); err != nil {
			return fmt.Errorf("restore: open in-memory badger: %w", err)
		}
	} else {
		ng.n = old.n + 1
		ng.dir = filepath.Join(s.dir, genDirName(ng.n))
		if err := os.RemoveAll(ng.dir); err != nil {
			return fmt.Errorf("restore: clear %s: %w", ng.dir, err)
		}
		if ng.db, err = badger.Open(s.badgerOptions(ng.dir)); err != nil {
			_ = os.RemoveAll(ng.dir)
			return fmt.Errorf("restore: %w", mapOpenErr(err, ng.dir))
		}
	}
	discard := func() {
		_ = ng.db.Close()
		if ng.dir != "" {
			_ = os.RemoveAll(ng.dir)
		}
	}
	index, frames, err := s.load(ng, old, r, nodeID)
	if err != nil {
		discard()
		return err
	}
	if ng.dir != "" {
		// Close flushes memtables to tables and syncs; only then may CURRENT point
		// at the new generation.
		if err := ng.db.Close(); err != nil {
			_ = os.RemoveAll(ng.dir)
			return fmt.Errorf("restore: close %s: %w", ng.dir, mapWriteErr(err))
		}
		if err := syncDir(s.dir); err != nil {
			_ = os.RemoveAll(ng.dir)
			return fmt.Errorf("restore: %w", err)
		}
		if err := writeCurrent(s.dir, ng.n); err != nil {
			// The rename may have happened before the directory sync failed:
			// then the new generation is the state on disk and must stay.
			if cur, ok, _ := readCurrent(s.dir); !ok || cur != ng.n {
				_ = os.RemoveAll(ng.dir)
				return fmt.Errorf("restore: %w", err)
			}
			s.log.Warn().Err(err).Str(logfield.Dir, ng.dir).Msg("restore switched generation despite a sync error")
		}
		// From here the new generation is the store's state on disk.
		reopened, err := s.openGen(ng.n)
		if err != nil {
			return fmt.Errorf("restore: reopen %s after switching %s (restart the node): %w",
				ng.dir, currentFileName, err)
		}
		ng = reopened
	}
	if err := s.loadMeta(ng); err != nil {
		return fmt.Errorf("restore: %w", err)
	}

	s.mu.Lock()
	s.cur = ng
	s.mu.Unlock()
	oldHeld = false
	old.release()
	old.refs.Wait()
	if err := old.db.Close(); err != nil {
		s.log.Warn().Err(err).Str(logfield.Dir, s.where(old)).Msg("close retired generation")
	}
	if old.dir != "" {
		if err := os.RemoveAll(old.dir); err != nil {
			s.log.Warn().Err(err).Str(logfield.Dir, old.dir).Msg("remove retired generation")
		}
	}
	s.log.Info().Str(logfield.Dir, s.where(ng)).Uint64(logfield.Index, index).Uint64(logfield.Entries, frames).
		Msg("snapshot restored")
	return nil
}

func corruptSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: snapshot: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// readErr turns an EOF in the middle of the stream into ErrCorrupt.
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corruptSnapshot("truncated in %s", what)
	}
	return fmt.Errorf("snapshot: read %s: %w", what, err)
}

func readUvarint(hr *hashReader, what string) (uint64, error) {
	v, err := binary.ReadUvarint(hr)
	if err != nil {
		// The reader's own error (I/O, EOF) is not corruption; only an
		// overlong varint is.
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || (hr.err != nil && errors.Is(err, hr.err)) {
			return 0, readErr(err, what)
		}
		return 0, corruptSnapshot("%s: %v", what, err)
	}
	return v, nil
}

// load reads the stream into ng and writes ng's local records. It returns the
// snapshot's index and frame count.
func (s *Store) load(ng, old *gen, r io.Reader, nodeID []byte) (uint64, uint64, error) {
	hr := &hashReader{r: bufio.NewReaderSize(r, 64<<10), h: crc32.New(castagnoli)}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(hr, magic); err != nil {
		return 0, 0, readErr(err, "header")
	}
	if string(magic) != snapshotMagic {
		return 0, 0, corruptSnapshot("bad magic %q", magic)
	}
	ver, err := hr.ReadByte()
	if err != nil {
		return 0, 0, readErr(err, "header")
	}
	if ver != snapshotVersion {
		return 0, 0, corruptSnapshot("unknown version %d", ver)
	}
	index, err := readUvarint(hr, "header")
	if err != nil {
		return 0, 0, err
	}

	wb := ng.db.NewWriteBatch()
	defer wb.Cancel()
	var frames uint64
	var appliedSeen []byte
	var lastKey []byte
	nextCheck := int64(spaceCheckEvery)
	for {
		tag, err := hr.ReadByte()
		if err != nil {
			return 0, 0, readErr(err, "frame")
		}
		if tag == frameEnd {
			break
		}
		if tag != frameKV {
			return 0, 0, corruptSnapshot("frame %d: bad tag %d", frames, tag)
		}
		klen, err := readUvarint(hr, "key length")
		if err != nil {
			return 0, 0, err
		}
		if klen == 0 || klen > maxKeySize {
			return 0, 0, corruptSnapshot("frame %d: key length %d", frames, klen)
		}
		key := make([]byte, klen)
		if _, err := io.ReadFull(hr, key); err != nil {
			return 0, 0, readErr(err, "key")
		}
		if isLocalKey(key) || bytes.HasPrefix(key, []byte("!badger!")) {
			return 0, 0, corruptSnapshot("frame %d: reserved key %q", frames, truncKey(key))
		}
		if lastKey != nil && bytes.Compare(key, lastKey) <= 0 {
			return 0, 0, corruptSnapshot("frame %d: key %q out of order", frames, truncKey(key))
		}
		lastKey = key
		vlen, err := readUvarint(hr, "value length")
		if err != nil {
			return 0, 0, err
		}
		if vlen > MaxRecordSize {
			return 0, 0, corruptSnapshot("frame %d: value length %d above %d", frames, vlen, MaxRecordSize)
		}
		val := make([]byte, vlen)
		if _, err := io.ReadFull(hr, val); err != nil {
			return 0, 0, readErr(err, "value")
		}
		exp, err := readUvarint(hr, "expiry")
		if err != nil {
			return 0, 0, err
		}
		if bytes.Equal(key, keyAppliedIndex) {
			appliedSeen = val
		}
		e := badger.NewEntry(key, val)
		e.ExpiresAt = exp
		if err := wb.SetEntry(e); err != nil {
			return 0, 0, fmt.Errorf("restore: %w", mapWriteErr(err))
		}
		frames++
		if hr.n >= nextCheck {
			nextCheck = hr.n + spaceCheckEvery
			if err := s.checkSpace(old); err != nil {
				return 0, 0, fmt.Errorf("restore: %w", err)
			}
		}
	}
	count, err := readUvarint(hr, "frame count")
	if err != nil {
		return 0, 0, err
	}
	sum := hr.h.Sum32()
	var trailer [4]byte
	if _, err := io.ReadFull(hr.r, trailer[:]); err != nil {
		return 0, 0, readErr(err, "checksum")
	}
	if got := binary.BigEndian.Uint32(trailer[:]); got != sum {
		return 0, 0, corruptSnapshot("checksum %08x, computed %08x", got, sum)
	}
	if _, err := hr.r.ReadByte(); err == nil {
		return 0, 0, corruptSnapshot("trailing bytes after the checksum")
	} else if !errors.Is(err, io.EOF) {
		return 0, 0, fmt.Errorf("snapshot: read: %w", err)
	}
	if count != frames {
		return 0, 0, corruptSnapshot("%d frames, trailer says %d", frames, count)
	}
	switch {
	case index == 0 && appliedSeen != nil:
		return 0, 0, corruptSnapshot("header index 0 but an applied index record")
	case index != 0 && (len(appliedSeen) != 8 || binary.BigEndian.Uint64(appliedSeen) != index):
		return 0, 0, corruptSnapshot("applied index record does not match header index %d", index)
	}
	if err := wb.Flush(); err != nil {
		return 0, 0, fmt.Errorf("restore: %w", mapWriteErr(err))
	}
	err = ng.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keySchema, schemaRecord()); err != nil {
			return err
		}
		if nodeID != nil {
			return txn.Set(keyNodeID, nodeID)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("restore: %w", mapWriteErr(err))
	}
	return index, frames, nil
}
