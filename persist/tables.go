package persist

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// checkTables is a structural pre-check of Badger's table (.sst) files before
// badger.Open. Badger reads a table's trailer (index and checksum lengths) without
// bounds checks, in goroutines of its own, so a truncated or overwritten table
// panics the process instead of returning an error. This check reads the same two
// lengths and fails with ErrCorrupt if they point outside the file. Badger then
// verifies the index checksum itself (and block checksums on read).
//
// Trailer layout (badger v4 table/table.go initIndex), from the end of the file:
// checksum length (be32), checksum, index length (be32), index.
func checkTables(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		return err
	}
	for _, path := range files {
		if err := checkTable(path); err != nil {
			return fmt.Errorf("%w: table %s: %s", ErrCorrupt, path, err.Error())
		}
	}
	return nil
}

func checkTable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size < 8 {
		return fmt.Errorf("%d bytes, shorter than a table trailer", size)
	}
	var b [4]byte
	if _, err := f.ReadAt(b[:], size-4); err != nil {
		return err
	}
	chkLen := int64(binary.BigEndian.Uint32(b[:]))
	if chkLen > size-8 {
		return fmt.Errorf("checksum length %d does not fit in %d bytes", chkLen, size)
	}
	if _, err := f.ReadAt(b[:], size-8-chkLen); err != nil {
		return err
	}
	idxLen := int64(binary.BigEndian.Uint32(b[:]))
	if idxLen > size-8-chkLen {
		return fmt.Errorf("index length %d does not fit in %d bytes", idxLen, size)
	}
	return nil
}
