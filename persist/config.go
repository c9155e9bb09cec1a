package persist

import (
	"fmt"
	"math"
	"time"
)

// Config configures a Store. cmd decodes it from the `persist:` section of the YAML
// config; Validate names keys by that path.
type Config struct {
	// Dir is the store's data directory. It is created if missing and must hold
	// nothing but the store (see DESIGN.md "Directory layout"). Required unless
	// InMemory.
	Dir string `yaml:"dir"`

	// SyncWrites fsyncs every Apply before it returns. Off by default: the raft log
	// is the durable record, each Apply writes m/applied_index in the same Badger
	// transaction as its data, and on restart the raft layer replays every entry
	// after AppliedIndex(). A process crash (kill -9) loses nothing either way
	// (Badger's files are mmapped, the kernel keeps the pages); a power loss without
	// SyncWrites can lose the newest applies, which the replay redoes.
	SyncWrites bool `yaml:"sync_writes"`

	// ValueLogGCInterval is how often the value-log GC loop runs; each run calls
	// Badger's RunValueLogGC until it has nothing to rewrite. 0 disables the loop.
	ValueLogGCInterval time.Duration `yaml:"value_log_gc_interval"`

	// ValueLogGCRatio is the discard ratio handed to RunValueLogGC: a value-log
	// file is rewritten when at least this fraction of it is garbage. (0, 1).
	ValueLogGCRatio float64 `yaml:"value_log_gc_ratio"`

	// MemTableSize is the size of one Badger memtable in bytes. It also bounds one
	// Badger transaction (15 %); Apply splits bigger entries transparently.
	MemTableSize int64 `yaml:"mem_table_size"`

	// BlockCacheSize is Badger's block cache in bytes (required: blocks are
	// compressed).
	BlockCacheSize int64 `yaml:"block_cache_size"`

	// ValueLogFileSize is the size of one value-log file in bytes.
	ValueLogFileSize int64 `yaml:"value_log_file_size"`

	// MinFreeBytes is the free space the file system must keep: a write is refused
	// with ErrDiskFull while less is available. Badger writes through mmap, where a
	// full disk is a SIGBUS that kills the process instead of an error, so this
	// reserve is what turns "disk full" into an error. 0 disables the check (not
	// recommended). See DESIGN.md "Disk full".
	MinFreeBytes int64 `yaml:"min_free_bytes"`

	// InMemory keeps everything in memory (tests only): Dir must be empty, nothing
	// survives Close, there is no lock and no GC loop.
	InMemory bool `yaml:"in_memory"`
}

// Defaults and limits of the numeric settings.
const (
	defaultMemTableSize     = 16 << 20
	defaultBlockCacheSize   = 32 << 20
	defaultValueLogFileSize = 64 << 20
	defaultMinFreeBytes     = 256 << 20

	minMemTableSize     = 4 << 20
	minBlockCacheSize   = 1 << 20
	minValueLogFileSize = 2 * MaxRecordSize
	maxValueLogFileSize = 1<<30 - 1
)

// DefaultConfig returns the defaults for a small (2-core) node. Dir is "./data/fsm"
// and must normally be set by cmd under the node's data directory.
func DefaultConfig() Config {
	return Config{
		Dir:                "./data/fsm",
		SyncWrites:         false,
		ValueLogGCInterval: 5 * time.Minute,
		ValueLogGCRatio:    0.5,
		MemTableSize:       defaultMemTableSize,
		BlockCacheSize:     defaultBlockCacheSize,
		ValueLogFileSize:   defaultValueLogFileSize,
		MinFreeBytes:       defaultMinFreeBytes,
	}
}

// Validate checks every field; the error wraps ErrInvalidConfig and names the key
// path (persist.<key>) and the value.
func (c Config) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: persist.%s: %v: %s", ErrInvalidConfig, key, v, why)
	}
	switch {
	case c.InMemory && c.Dir != "":
		return bad("dir", fmt.Sprintf("%q", c.Dir), "must be empty when in_memory is true")
	case !c.InMemory && c.Dir == "":
		return bad("dir", `""`, "required")
	case c.ValueLogGCInterval < 0:
		return bad("value_log_gc_interval", c.ValueLogGCInterval, "must be >= 0")
	case c.ValueLogGCInterval > 0 && c.ValueLogGCInterval < time.Second:
		return bad("value_log_gc_interval", c.ValueLogGCInterval, "must be 0 (off) or >= 1s")
	case math.IsNaN(c.ValueLogGCRatio) || c.ValueLogGCRatio <= 0 || c.ValueLogGCRatio >= 1:
		return bad("value_log_gc_ratio", c.ValueLogGCRatio, "must be in (0, 1)")
	case c.MemTableSize < minMemTableSize:
		return bad("mem_table_size", c.MemTableSize, fmt.Sprintf("must be >= %d", minMemTableSize))
	case c.MemTableSize > 1<<30:
		return bad("mem_table_size", c.MemTableSize, "must be <= 1073741824")
	case c.BlockCacheSize < minBlockCacheSize:
		return bad("block_cache_size", c.BlockCacheSize, fmt.Sprintf("must be >= %d", minBlockCacheSize))
	case c.ValueLogFileSize < minValueLogFileSize || c.ValueLogFileSize > maxValueLogFileSize:
		return bad("value_log_file_size", c.ValueLogFileSize,
			fmt.Sprintf("must be in [%d, %d]", minValueLogFileSize, maxValueLogFileSize))
	case c.MinFreeBytes < 0:
		return bad("min_free_bytes", c.MinFreeBytes, "must be >= 0")
	}
	return nil
}
