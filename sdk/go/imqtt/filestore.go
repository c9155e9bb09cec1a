package imqtt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileStore is a Store kept in one JSON file. Every change rewrites the
// file atomically (a temporary file in the same directory, fsync, rename),
// so a crash leaves the old or the new content, never a mix. One FileStore
// per file: two processes sharing a file overwrite each other's changes.
type FileStore struct {
	records
	path string
}

// NewFileStore opens the store at path, reading it when it exists (a
// missing file is an empty store; the file is created by the first change).
func NewFileStore(path string) (*FileStore, error) {
	s := &FileStore{records: records{d: newStoreData()}, path: path}
	s.persist = s.save
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("open file store %q: %w", path, err)
	}
	if err := json.Unmarshal(b, &s.d); err != nil {
		return nil, fmt.Errorf("read file store %q: %w", path, err)
	}
	if s.d.Outbox == nil {
		s.d.Outbox = map[string]OutboxEntry{}
	}
	if s.d.Cursors == nil {
		s.d.Cursors = map[string]int64{}
	}
	if s.d.Meta == nil {
		s.d.Meta = map[string]string{}
	}
	return s, nil
}

// save writes d to the file atomically (records.persist: called with the
// records' mutex held).
func (s *FileStore) save(d *storeData) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode file store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write file store %q: %w", s.path, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write file store %q: %w", s.path, err)
	}
	return nil
}
