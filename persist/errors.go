package persist

import "errors"

// Sentinel errors. Every error a Store returns wraps at most one of these, with
// context (the key, the directory, the index) added by fmt.Errorf("...: %w").
// Callers test with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every error from Config.Validate; the message
	// names the key path and the offending value.
	ErrInvalidConfig = errors.New("invalid persist config")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("persist: store closed")

	// ErrLocked is returned by Open when another process (or another Store in this
	// process) holds the data directory.
	ErrLocked = errors.New("persist: data directory locked")

	// ErrForeignDir is returned by Open when the directory holds something that is not
	// an imqtt store: unknown files, a bare Badger database, or a Badger database
	// without imqtt's schema record. Open never modifies such a directory.
	ErrForeignDir = errors.New("persist: directory is not an imqtt store")

	// ErrCorrupt is returned when the store's own files are damaged (a CURRENT file
	// that does not parse, a Badger database that does not open) and by Restore
	// for a snapshot stream that is truncated, has a bad checksum or a bad frame.
	ErrCorrupt = errors.New("persist: store corrupt")

	// ErrSchemaVersion is returned by Open when the store was written by a newer
	// imqtt whose schema version this build does not know.
	ErrSchemaVersion = errors.New("persist: unsupported schema version")

	// ErrCorruptRecord is returned by every decoder for malformed, truncated or
	// trailing input; Store reads wrap it with the key the record came from.
	ErrCorruptRecord = errors.New("persist: corrupt record")

	// ErrInvalidRecord is returned by the encoders (Marshal, EncodeOps) for a record
	// that breaks a field rule (QoS > 2, subscription identifier out of range, ...).
	ErrInvalidRecord = errors.New("persist: invalid record")

	// ErrInvalidOp is set in Result.Err for every op of a batch that failed
	// validation (an empty client id, a key over the size limit, a raw key outside
	// the reserved IM prefixes, ...). Validation is deterministic, so every replica
	// rejects the same batches; the other batches of the entry are applied.
	ErrInvalidOp = errors.New("persist: invalid op")

	// ErrAlreadyApplied is returned by Apply for an index at or below AppliedIndex:
	// the entry is skipped and nothing is written. The raft layer treats it as
	// success (it happens when the log is replayed over a store that kept it).
	ErrAlreadyApplied = errors.New("persist: entry already applied")

	// ErrPartialApply is returned by Apply when an earlier Apply of another index
	// failed half way (after committing part of a split entry): that index must be
	// applied again first. See DESIGN.md "Apply".
	ErrPartialApply = errors.New("persist: an earlier entry is partly applied")

	// ErrNotFound is returned by the single-record reads (Session, Retained, GetRaw)
	// when the key does not exist (or has expired).
	ErrNotFound = errors.New("persist: not found")

	// ErrQuotaExceeded is set in Result.Err of an OpPutRetainedOwned that would
	// take its owner past the op's MaxCount or MaxBytes; nothing was written.
	// Deterministic: the usage it checks is replicated state.
	ErrQuotaExceeded = errors.New("persist: quota exceeded")

	// ErrConflict is set in Result.Err of a failing guard (OpRequireRaw: the
	// guarded raw key does not hold the required value) and of every later op
	// of its batch, which were skipped: nothing of the batch was written. The
	// proposer re-reads, re-decides and proposes again. Deterministic: the
	// guarded keys are replicated state read without a TTL.
	ErrConflict = errors.New("persist: guard conflict")

	// ErrDiskFull is returned (wrapped) by a write that was refused because the
	// file system has less than Config.MinFreeBytes available, or that failed with
	// ENOSPC. Nothing of the refused write is visible; the next write after space
	// is freed succeeds without reopening.
	ErrDiskFull = errors.New("persist: disk full")

	// ErrNodeIDMismatch is returned by ClaimNodeID when the directory already
	// belongs to another node id.
	ErrNodeIDMismatch = errors.New("persist: data directory belongs to another node")
)
