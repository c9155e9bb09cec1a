package persist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Store is the node's on-disk state machine storage. All methods are safe for
// concurrent use; writers (Apply, Restore, ClaimNodeID) are serialised.
type Store struct {
	cfg  Config
	log  zerolog.Logger
	blog *badgerLogger
	dir  string // absolute data dir; "" in memory
	lock *dirLock

	mu     sync.RWMutex // guards cur and closed
	cur    *gen
	closed bool

	// wmu serialises writers and guards progress. Lock order: wmu, then mu.
	wmu      sync.Mutex
	progress *applyProgress // non-nil while an entry is partly applied
	applied  atomic.Uint64

	// Fault injection for tests (nil/zero in production): testTxnLimit lowers
	// the per-transaction entry limit, testAfterSplit runs after every
	// intermediate commit of a split Apply and may fail it.
	testTxnLimit   int64
	testAfterSplit func(splits int) error

	// observer holds the observers told about every applied entry
	// (SetObserver, AddObserver; observer.go): obs is the installers' side,
	// observer the snapshot Apply reads without a lock.
	obs      observers
	observer atomic.Pointer[[]Observer]

	// space is CheckSpace's last statfs reading (space.go).
	space atomic.Pointer[spaceReading]

	done      chan struct{} // closed by Close: stops the GC loop
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// gen is one generation: a Badger database and the readers using it. Restore
// replaces the generation; the old one is closed once its last reader is done.
type gen struct {
	db   *badger.DB
	n    uint64 // generation number; 0 in memory
	dir  string // "" in memory
	refs sync.WaitGroup

	// qhead: per client, the seq up to which the queue is known to be empty
	// (queuehead.go). Writer only (Store.wmu).
	qhead map[string]uint64
	// counters: raw 8-byte counters known to this generation (countercache.go).
	// Writer only (Store.wmu).
	counters map[string]uint64
}

func (g *gen) release() { g.refs.Done() }

// acquire returns the current generation with a reference the caller must release.
func (s *Store) acquire() (*gen, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.cur.refs.Add(1)
	return s.cur, nil
}

// Open opens (creating if needed) the store in cfg.Dir, or an in-memory store.
// It takes the directory lock, finishes or undoes what a crash interrupted,
// checks the schema, loads AppliedIndex and starts the value-log GC loop. The
// caller must Close the store.
//
// Errors: ErrInvalidConfig, ErrLocked, ErrForeignDir, ErrCorrupt,
// ErrSchemaVersion, ErrDiskFull, or an I/O error.
func Open(cfg Config, log zerolog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{
		cfg:  cfg,
		log:  log.With().Str(logfield.Component, componentPersist).Logger(),
		blog: newBadgerLogger(log),
		done: make(chan struct{}),
	}
	var g *gen
	if cfg.InMemory {
		db, err := badger.Open(s.badgerOptions(""))
		if err != nil {
			return nil, fmt.Errorf("open in-memory badger: %w", err)
		}
		g = &gen{db: db}
	} else {
		dir, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("data dir %q: %w", cfg.Dir, err)
		}
		s.dir = dir
		lock, n, err := prepareDir(dir, s.log)
		if err != nil {
			return nil, err
		}
		s.lock = lock
		if g, err = s.openGen(n); err != nil {
			_ = lock.release()
			return nil, err
		}
	}
	if err := checkSchema(g.db, s.where(g)); err != nil {
		s.abortOpen(g)
		return nil, err
	}
	if err := s.loadMeta(g); err != nil {
		s.abortOpen(g)
		return nil, err
	}
	s.cur = g
	if !cfg.InMemory && cfg.ValueLogGCInterval > 0 {
		s.wg.Add(1)
		go s.gcLoop()
	}
	ev := s.log.Info().Str(logfield.Dir, s.where(g)).Uint64(logfield.Index, s.applied.Load())
	if s.progress != nil {
		ev = ev.Uint64(logfield.Batch, uint64(s.progress.batch)).Uint64(logfield.Op, uint64(s.progress.op))
	}
	ev.Msg("store opened")
	return s, nil
}

func (s *Store) abortOpen(g *gen) {
	if err := g.db.Close(); err != nil {
		s.log.Warn().Err(err).Msg("close after failed open")
	}
	_ = s.lock.release()
}

// where names a generation for messages.
func (s *Store) where(g *gen) string {
	if g.dir == "" {
		return "in-memory store"
	}
	return g.dir
}

// openGen opens generation n of the data directory.
func (s *Store) openGen(n uint64) (*gen, error) {
	dir := filepath.Join(s.dir, genDirName(n))
	if err := checkTables(dir); err != nil {
		return nil, err
	}
	db, err := badger.Open(s.badgerOptions(dir))
	if err != nil {
		// Badger may return a half-built *DB with an error; closing it panics,
		// so it is dropped.
		return nil, mapOpenErr(err, dir)
	}
	return &gen{db: db, n: n, dir: dir}, nil
}

// valueThreshold is the value size from which Badger keeps values in the value
// log instead of the LSM tree. In memory, Badger rejects larger values outright.
func (s *Store) valueThreshold() int64 {
	if s.cfg.InMemory {
		return min(int64(1<<20), 15*s.cfg.MemTableSize/100)
	}
	return 64 << 10
}

func (s *Store) badgerOptions(dir string) badger.Options {
	var opt badger.Options
	if s.cfg.InMemory {
		opt = badger.DefaultOptions("").WithInMemory(true)
	} else {
		opt = badger.DefaultOptions(dir)
	}
	return opt.
		WithLogger(s.blog).
		WithSyncWrites(s.cfg.SyncWrites).
		WithMemTableSize(s.cfg.MemTableSize).
		WithBlockCacheSize(s.cfg.BlockCacheSize).
		WithValueLogFileSize(s.cfg.ValueLogFileSize).
		WithValueThreshold(s.valueThreshold()).
		WithNumMemtables(3).
		WithNumLevelZeroTables(5).
		WithNumLevelZeroTablesStall(15).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false). // writers are serialised by wmu
		WithChecksumVerificationMode(options.OnBlockRead).
		WithMetricsEnabled(false) // Badger's metrics are process-global expvars
}

// applyProgress records how far a split Apply of Index got: every op before
// (Batch, Op) is committed. See DESIGN.md "Apply".
type applyProgress struct {
	index     uint64
	batch, op int
}

func (p applyProgress) encode() []byte {
	b := []byte{1}
	b = binary.AppendUvarint(b, p.index)
	b = binary.AppendUvarint(b, uint64(p.batch))
	return binary.AppendUvarint(b, uint64(p.op))
}

func decodeProgress(b []byte) (applyProgress, error) {
	d := newDecoder(b, "apply progress")
	d.version(1)
	p := applyProgress{index: d.uvarint()}
	p.batch = int(d.uvarintMax(1<<31, "batch"))
	p.op = int(d.uvarintMax(1<<31, "op"))
	return p, d.finish()
}

// loadMeta reads the applied index and any apply progress of g.
func (s *Store) loadMeta(g *gen) error {
	var applied uint64
	var prog *applyProgress
	err := g.db.View(func(txn *badger.Txn) error {
		v, ok, err := getCopy(txn, keyAppliedIndex)
		if err != nil {
			return err
		}
		if ok {
			if len(v) != 8 {
				return fmt.Errorf("%w: %s: %d bytes", ErrCorruptRecord, keyAppliedIndex, len(v))
			}
			applied = binary.BigEndian.Uint64(v)
		}
		v, ok, err = getCopy(txn, keyApplyProgress)
		if err != nil || !ok {
			return err
		}
		p, err := decodeProgress(v)
		if err != nil {
			return fmt.Errorf("%s: %w", keyApplyProgress, err)
		}
		prog = &p
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, s.where(g), err)
	}
	s.applied.Store(applied)
	s.progress = prog
	return nil
}

// getCopy reads key in txn; ok is false if it does not exist.
func getCopy(txn *badger.Txn, key []byte) ([]byte, bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	v, err := item.ValueCopy(nil)
	return v, err == nil, err
}

// AppliedIndex returns the raft index of the last entry Apply committed (0 for a
// new store). After Restore it is the snapshot's index.
func (s *Store) AppliedIndex() uint64 { return s.applied.Load() }

// Close stops the GC loop, waits for it and for in-flight reads (and unreleased
// SnapshotViews: release them first), closes Badger and releases the directory
// lock. It is idempotent: later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		g := s.cur
		s.mu.Unlock()
		close(s.done)
		s.wg.Wait()
		// Wait for a writer in progress (Apply/Restore hold wmu and a reference).
		s.wmu.Lock()
		defer s.wmu.Unlock()
		if g != nil {
			g.refs.Wait()
			if err := g.db.Close(); err != nil {
				s.closeErr = fmt.Errorf("close badger: %w", err)
			}
		}
		if err := s.lock.release(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("release lock: %w", err)
		}
		s.log.Info().Str(logfield.Dir, s.dir).Uint64(logfield.Index, s.applied.Load()).Msg("store closed")
	})
	return s.closeErr
}

// DiskUsage returns Badger's LSM and value-log sizes in bytes (for metrics).
func (s *Store) DiskUsage() (lsm, vlog int64, err error) {
	g, err := s.acquire()
	if err != nil {
		return 0, 0, err
	}
	defer g.release()
	lsm, vlog = g.db.Size()
	return lsm, vlog, nil
}

// checkSpace refuses a write when the file system is below MinFreeBytes.
func (s *Store) checkSpace(g *gen) error {
	return s.checkSpaceBelow(g, s.cfg.MinFreeBytes)
}

// applyReserve is the free space Apply itself insists on: half of
// MinFreeBytes. Proposers refuse new commands at MinFreeBytes (CheckSpace), so
// the commands already proposed when the disk crossed that line (a batch in
// flight, pump acknowledgements) still find room: a committed entry must be
// applied, and an Apply refused for lack of space stops the node.
func (s *Store) applyReserve() int64 { return s.cfg.MinFreeBytes / 2 }

// checkSpaceBelow refuses when the disk has less than min bytes free.
func (s *Store) checkSpaceBelow(g *gen, min int64) error {
	if s.cfg.InMemory || min <= 0 {
		return nil
	}
	free, err := freeBytes(g.dir)
	if err != nil {
		return err
	}
	return s.spaceError(g, free, min)
}

// spaceError is ErrDiskFull (logged) when free is below min, else nil.
func (s *Store) spaceError(g *gen, free uint64, min int64) error {
	if free < uint64(min) {
		s.log.Warn().Str(logfield.Dir, g.dir).Uint64(logfield.FreeBytes, free).Int64(logfield.MinFree, min).
			Msg("write refused: disk full")
		return fmt.Errorf("%w: %s has %d bytes free, below %d (persist.min_free_bytes %d)",
			ErrDiskFull, g.dir, free, min, s.cfg.MinFreeBytes)
	}
	return nil
}

// CheckSpace returns an error wrapping ErrDiskFull when the store's disk has less
// than MinFreeBytes free, so a caller can refuse a write before proposing it to
// raft: once a command is committed, the state machine must apply it, and Badger
// turns a full disk into SIGBUS rather than an error. Cheap: at most one statfs,
// and none while a recent reading showed a wide margin (space.go).
func (s *Store) CheckSpace() error {
	g, err := s.acquire()
	if err != nil {
		return err
	}
	defer g.release()
	return s.checkSpaceCached(g)
}
