package imqtt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// FileStore is a Store kept in one JSON file. Every change rewrites the
// file atomically (a temporary file in the same directory, fsync, rename),
// so a crash leaves the old or the new content, never a mix. One FileStore
// per file: two processes sharing a file overwrite each other's changes.
type FileStore struct {
	path string
	mu   sync.Mutex
	d    storeData
}

// NewFileStore opens the store at path, reading it when it exists (a
// missing file is an empty store; the file is created by the first change).
func NewFileStore(path string) (*FileStore, error) {
	s := &FileStore{path: path, d: newStoreData()}
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

// save writes s.d to the file atomically. Callers hold s.mu.
func (s *FileStore) save() error {
	b, err := json.Marshal(&s.d)
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

// PutOutbox implements Store.
func (s *FileStore) PutOutbox(e OutboxEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Payload = slices.Clone(e.Payload)
	s.d.Outbox[e.CID] = e
	return s.save()
}

// DeleteOutbox implements Store.
func (s *FileStore) DeleteOutbox(cid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.d.Outbox[cid]; !ok {
		return nil
	}
	delete(s.d.Outbox, cid)
	return s.save()
}

// ListOutbox implements Store.
func (s *FileStore) ListOutbox() ([]OutboxEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.sortedOutbox(), nil
}

// Cursors implements Store.
func (s *FileStore) Cursors() (map[string]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.d.Cursors))
	for k, v := range s.d.Cursors {
		out[k] = v
	}
	return out, nil
}

// SetCursor implements Store.
func (s *FileStore) SetCursor(conv string, seq int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.Cursors[conv] = seq
	return s.save()
}

// Get implements Store.
func (s *FileStore) Get(key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Meta[key], nil
}

// Set implements Store.
func (s *FileStore) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d.Meta[key] = value
	return s.save()
}
