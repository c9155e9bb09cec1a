package accounts

import "errors"

// Sentinel errors of the package. Functions wrap them with context; callers
// test for them with errors.Is. The admin API maps them to HTTP statuses
// (ErrInvalid* 400, ErrNotFound 404, ErrExists and ErrConflict 409,
// ErrStorage 503).
var (
	// ErrInvalidName reports a user name that breaks the name rules
	// (ValidateName).
	ErrInvalidName = errors.New("invalid user name")
	// ErrInvalidPassword reports a password that cannot be stored: empty, or
	// longer than the 72 bytes bcrypt hashes.
	ErrInvalidPassword = errors.New("invalid password")
	// ErrInvalidState reports a state other than "active" and "disabled".
	ErrInvalidState = errors.New("invalid state")
	// ErrInvalidRole reports a malformed role, a duplicate, or too many roles.
	ErrInvalidRole = errors.New("invalid role")
	// ErrInvalidQuery reports a List page size outside 1..MaxListLimit.
	ErrInvalidQuery = errors.New("invalid user query")
	// ErrInvalidConfig is matched by every error Config.Validate returns.
	ErrInvalidConfig = errors.New("invalid accounts config")
	// ErrCorruptRecord reports a stored user record that does not decode.
	ErrCorruptRecord = errors.New("corrupt user record")
	// ErrNotFound reports a user that is not in the store.
	ErrNotFound = errors.New("user not found")
	// ErrExists reports a Create of a user that is already in the store.
	ErrExists = errors.New("user exists")
	// ErrConflict reports a change that lost its guard maxGuardAttempts times
	// in a row (the record kept changing under it); the caller may retry.
	ErrConflict = errors.New("user record changed concurrently")
	// ErrStorage reports a write that did not commit (no quorum, timeout,
	// disk full, closed node): the change may or may not have applied.
	ErrStorage = errors.New("user store write failed")
	// ErrClosed is returned by calls on a closed Service.
	ErrClosed = errors.New("accounts service closed")
	// ErrMissingOption reports a New call without a required Options field.
	ErrMissingOption = errors.New("missing option")
)
