package auth

import "errors"

// Sentinel errors of the package. Functions wrap them with context (the file,
// the line, the field path); callers test for them with errors.Is.
var (
	// ErrInvalidUsername reports a username that breaks the username rules
	// (see ValidateUsername). Usernames are substituted into ACL patterns, so the
	// rules are strict.
	ErrInvalidUsername = errors.New("invalid username")

	// ErrInvalidPassword reports a password that cannot be stored: empty, or
	// longer than the 72 bytes bcrypt can hash.
	ErrInvalidPassword = errors.New("invalid password")

	// ErrUnknownUser is returned by PasswordFile.Remove for a user that is not in
	// the file.
	ErrUnknownUser = errors.New("unknown user")

	// ErrMalformedLine reports a password file line that is neither a comment,
	// a blank line nor a "username:hash" entry.
	ErrMalformedLine = errors.New("malformed line")

	// ErrDuplicateUser reports a password file that lists a username twice.
	ErrDuplicateUser = errors.New("duplicate user")

	// ErrUnsupportedHash reports a password file entry whose hash is not a
	// well-formed bcrypt hash ($2a$, $2b$ or $2y$, 60 characters).
	ErrUnsupportedHash = errors.New("unsupported password hash")

	// ErrInvalidConfig is matched (errors.Is) by every error Config.Validate
	// returns; the error text names the field path and the value.
	ErrInvalidConfig = errors.New("invalid auth config")

	// ErrInvalidKey reports a JWT key file that cannot be used: unreadable PEM,
	// wrong key type for the configured algorithms, RSA key under 2048 bits,
	// ECDSA key not on P-256, or an HMAC secret under 32 bytes.
	ErrInvalidKey = errors.New("invalid jwt key")

	// ErrMissingOption reports a New call without a required Options field
	// (Server, WillCheck, or LoopbackListener when anonymous access is allowed).
	ErrMissingOption = errors.New("missing option")
)

// Errors a Minted verifier wraps to give the precise refusal reason.
var (
	// ErrMintedExpired: the minted token's exp has passed (token_expired).
	ErrMintedExpired = errors.New("minted token expired")
	// ErrMintedRevoked: the minted token's id is on the deny list
	// (token_revoked).
	ErrMintedRevoked = errors.New("minted token revoked")
)
