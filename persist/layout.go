package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Directory layout (DESIGN.md "Directory layout"):
//
//	<dir>/imqtt.lock      flock held while a Store is open; holds the owner's pid
//	<dir>/CURRENT         "data-NNNNNN\n": the generation in use (replaced atomically)
//	<dir>/data-NNNNNN/    the Badger database of that generation
//
// Restore loads a snapshot into the next generation's directory and only then
// switches CURRENT, so a crash at any point leaves either the old or the new
// state, never a mix.
const (
	lockFileName    = "imqtt.lock"
	currentFileName = "CURRENT"
	currentTmpName  = "CURRENT.tmp"
	genDirPrefix    = "data-"
)

func genDirName(n uint64) string { return fmt.Sprintf("%s%06d", genDirPrefix, n) }

// parseGenDirName accepts exactly the names genDirName produces.
func parseGenDirName(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, genDirPrefix)
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n == 0 || genDirName(n) != name {
		return 0, false
	}
	return n, true
}

// readCurrent returns the generation CURRENT names; ok is false when there is no
// CURRENT file. A CURRENT that does not parse is ErrCorrupt.
func readCurrent(dir string) (n uint64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, currentFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", currentFileName, err)
	}
	name, found := strings.CutSuffix(string(b), "\n")
	n, valid := parseGenDirName(name)
	if !found || !valid {
		return 0, false, fmt.Errorf("%w: %s: %s holds %q, want %q", ErrCorrupt, dir, currentFileName,
			truncKey(b), "data-NNNNNN\\n")
	}
	return n, true, nil
}

// writeCurrent atomically points CURRENT at generation n: write a temporary file,
// fsync it, rename it over CURRENT, fsync the directory.
func writeCurrent(dir string, n uint64) error {
	tmp := filepath.Join(dir, currentTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", currentTmpName, err)
	}
	_, err = f.WriteString(genDirName(n) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", currentTmpName, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, currentFileName)); err != nil {
		return fmt.Errorf("replace %s: %w", currentFileName, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// isEmptyDir reports whether path is a directory with no entries.
func isEmptyDir(path string) bool {
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) == 0
}

// checkUninitialised is the foreign-directory check for a directory without
// CURRENT: only what an interrupted first Open leaves behind may be there (the
// lock file, CURRENT.tmp, an empty first generation directory). Anything else
// means the directory belongs to something else, and Open leaves it untouched.
func checkUninitialised(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read data dir %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == lockFileName || name == currentTmpName {
			continue
		}
		if _, ok := parseGenDirName(name); ok && e.IsDir() && isEmptyDir(filepath.Join(dir, name)) {
			continue
		}
		return fmt.Errorf("%w: %s holds %q but no %s file; refusing to use it (point persist.dir at an empty or imqtt directory)",
			ErrForeignDir, dir, name, currentFileName)
	}
	return nil
}

// prepareDir creates or checks the data directory, takes its lock and returns the
// generation to open. On error nothing is held.
func prepareDir(dir string, log zerolog.Logger) (*dirLock, uint64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, 0, fmt.Errorf("create data dir: %w", err)
	}
	if _, ok, err := readCurrent(dir); err != nil {
		return nil, 0, err
	} else if !ok {
		// Do not even create the lock file in a foreign directory.
		if err := checkUninitialised(dir); err != nil {
			return nil, 0, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, 0, err
	}
	n, err := settleDir(dir, log)
	if err != nil {
		_ = lock.release()
		return nil, 0, err
	}
	return lock, n, nil
}

// settleDir runs under the lock: it finishes or undoes what a crash interrupted
// and returns the current generation.
func settleDir(dir string, log zerolog.Logger) (uint64, error) {
	_ = os.Remove(filepath.Join(dir, currentTmpName))
	n, ok, err := readCurrent(dir)
	if err != nil {
		return 0, err
	}
	if !ok {
		if err := checkUninitialised(dir); err != nil {
			return 0, err
		}
		n = 1
		if err := os.MkdirAll(filepath.Join(dir, genDirName(n)), 0o750); err != nil {
			return 0, fmt.Errorf("create %s: %w", genDirName(n), err)
		}
		if err := syncDir(dir); err != nil {
			return 0, err
		}
		if err := writeCurrent(dir, n); err != nil {
			return 0, err
		}
		log.Info().Str(logfield.Dir, dir).Msg("data directory initialised")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read data dir %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == lockFileName || name == currentFileName {
			continue
		}
		if g, ok := parseGenDirName(name); ok && g != n {
			// A restore that crashed before switching CURRENT, or an old
			// generation whose removal was interrupted.
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return 0, fmt.Errorf("remove stale %s: %w", name, err)
			}
			log.Info().Str(logfield.Dir, dir).Str(logfield.Generation, name).Msg("stale generation removed")
			continue
		}
		if name != genDirName(n) {
			log.Warn().Str(logfield.Dir, dir).Str(logfield.Detail, name).Msg("unexpected entry in data directory")
		}
	}
	fi, err := os.Stat(filepath.Join(dir, genDirName(n)))
	if err != nil || !fi.IsDir() {
		return 0, fmt.Errorf("%w: %s: %s names %s, which is missing or not a directory",
			ErrCorrupt, dir, currentFileName, genDirName(n))
	}
	return n, nil
}
