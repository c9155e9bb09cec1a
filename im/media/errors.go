package media

import "errors"

// Sentinel errors; callers test with errors.Is. The broker maps them to the IM
// reason codes (docs/protocol.md "Media") and to HTTP statuses.
var (
	// ErrInvalidConfig is wrapped by every error of Config.Validate.
	ErrInvalidConfig = errors.New("invalid media config")
	// ErrBadRequest: a field of an upload or of a media body is missing or
	// malformed (name, mime syntax, sha256, size).
	ErrBadRequest = errors.New("invalid media request")
	// ErrTooLarge: the file is above Config.MaxSize, or a PUT body is longer
	// than the size signed into its URL.
	ErrTooLarge = errors.New("file too large")
	// ErrType: the mime type is not in Config.AllowedTypes.
	ErrType = errors.New("mime type not allowed")
	// ErrQuota: the user's stored bytes would exceed Config.UserQuota.
	ErrQuota = errors.New("media quota exceeded")
	// ErrNotIssued: a URL or key this store did not issue (wrong base, wrong
	// key MAC, or size/sha256/mime other than the upload's).
	ErrNotIssued = errors.New("media url not issued by this server")
	// ErrBadSignature: a signed URL whose signature does not verify, or that
	// does not parse.
	ErrBadSignature = errors.New("bad media url signature")
	// ErrExpired: a signed URL past its expiry.
	ErrExpired = errors.New("media url expired")
	// ErrChecksum: a PUT body whose length or sha256 is not the one signed.
	ErrChecksum = errors.New("media body does not match its size or sha256")
	// ErrNotFound: no object under that key (not uploaded yet).
	ErrNotFound = errors.New("media not found")
	// ErrUnavailable: the backend failed (disk, S3 unreachable).
	ErrUnavailable = errors.New("media store unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("media store closed")
)
