package auth

// Refusal reasons. Each refusal logs one warn line with one of these in the
// "reason" field and passes it to Observer.AuthFailed. The set is closed and
// small, so it is safe as a metric label. Reasons are for operators: the
// client only ever sees the CONNACK code.
const (
	ReasonMissingPassword   = "missing_password"    // username without password
	ReasonEmptyPassword     = "empty_password"      // password flag with a zero-length password
	ReasonMissingUsername   = "missing_username"    // password without username while JWT is off
	ReasonInvalidUsername   = "invalid_username"    // username breaks ValidateUsername
	ReasonNoPasswordFile    = "no_password_file"    // username+password but no password file is configured
	ReasonUnknownUser       = "unknown_user"        // not in the password file
	ReasonBadPassword       = "bad_password"        // wrong password for a known user
	ReasonTokenInvalid      = "token_invalid"       // malformed, forged or wrongly signed token
	ReasonTokenAlg          = "token_alg"           // alg not in auth.jwt.algorithms (none, HS256 vs RS256 ...)
	ReasonTokenExpired      = "token_expired"       // exp in the past (beyond leeway)
	ReasonTokenNotYetValid  = "token_not_yet_valid" // nbf or iat in the future (beyond leeway)
	ReasonTokenClaims       = "token_claims"        // exp missing, exp/nbf/iat not a JSON number or given twice, wrong iss or aud
	ReasonTokenSubject      = "token_subject"       // sub missing, not a single JSON string, or breaks ValidateUsername
	ReasonTokenUserMismatch = "token_user_mismatch" // MQTT username differs from the token's sub
	ReasonAnonymousDenied   = "anonymous_denied"    // anonymous off, or listener not loopback-only
	ReasonWillDenied        = "will_denied"         // WillCheck refused the will topic
	ReasonThrottled         = "throttled"           // too many failed logins: refused without checking (auth.throttle)
	ReasonUserDisabled      = "user_disabled"       // the user store holds the user as disabled (v5 0x8A, 3.1.1 5)
	ReasonUserStore         = "user_store"          // the user store could not be read (v5 0x88, 3.1.1 3)
)

// Observer is told about every refused CONNECT (for metrics). AuthFailed is
// called on the client's connection goroutine, concurrently for different
// clients; it must not block. A nil Observer is a no-op.
type Observer interface {
	// AuthFailed records one refusal; reason is one of the Reason* constants.
	AuthFailed(reason string)
}
