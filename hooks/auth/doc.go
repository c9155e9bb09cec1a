// Package auth decides authentication for imqtt (the engine's
// ext.Authenticator):
// password file (bcrypt), JWT access tokens (HS256, RS256, ES256) and
// loopback-only anonymous access. It also checks the will topic, through the
// ACL, before the CONNACK is sent.
//
// # What it owns
//
//   - The password file format and its editor, PasswordFile (used by the
//     `imqttd user` subcommand): LoadPasswordFile, OpenOrCreatePasswordFile,
//     Set, Remove, Users, Verify, Save.
//   - The username rules, ValidateUsername, shared by password users and JWT
//     subjects: 1..256 bytes of UTF-8, no '+', '#', ':', no control
//     characters, no leading/trailing white space ('/' is allowed). Usernames
//     are substituted into ACL patterns, hence the rules.
//   - The Hook: New, Reload, Close, and Authenticate (ext.Authenticator),
//     which the engine calls for every CONNECT before the CONNACK.
//
// It does not own ACLs: the broker passes Options.WillCheck (the ACL's
// publish check) and this package never imports hooks/acl.
//
// # Decision table
//
// "User" means the username flag is set and the username is not empty (an
// empty username counts as none); "password" means the password flag is set.
//
//	username  password  JWT on  password looks like JWT  ->  check
//	no        no        any     -                        ->  anonymous: allowed only if
//	                                                        allow_anonymous AND the listener
//	                                                        is loopback-only; else 0x87
//	yes       no        any     -                        ->  refused 0x86 (missing_password)
//	yes       yes       yes     yes                      ->  JWT; sub must equal the username
//	yes       yes       yes     no                       ->  password file
//	yes       yes       no      -                        ->  password file
//	no        yes       yes     -                        ->  JWT; identity = sub
//	no        yes       no      -                        ->  refused 0x86 (missing_username)
//
// "Looks like a JWT" is three dot-separated base64url parts whose first part
// decodes to a JSON object; such a password is never tried against the
// password file, so password-file users must not pick one (they cannot by
// accident). A username is checked against ValidateUsername before either
// check. With no password file configured, a username+password that is not a
// token is refused (no_password_file).
//
// JWT checks: alg must be in auth.jwt.algorithms (so "none" and every other
// alg are refused; the key is chosen by alg and only from the key configured
// for it, so an HS256 token is never checked against the RSA/EC public key);
// signature; exp required; nbf and iat honoured; leeway applies to all three;
// iss and aud when configured; sub must pass ValidateUsername. Claim types are
// strict (checkClaimTypes, before the signature): exp, nbf and iat must be JSON
// numbers (RFC 7519 NumericDate; jwt/v5 alone also takes "exp":"1700000000"),
// sub a single JSON string, and none of the four may appear twice. The identity is
// the sub. Authenticate returns the token's exp (ext.AuthResult.ExpiresAt):
// the engine closes the connection when it passes.
//
// # Minted tokens
//
// With Options.Tokens (the cluster's own tokens, tokens/ through the
// broker's adapter), a password whose JWT header has a kid starting with
// "imqtt:" (Minted.Owns) is judged by Minted.Verify alone, before and
// instead of the auth.jwt and password-file rows of the table, whether or
// not auth.jwt is on: username empty or equal to the token's user. Refusals:
// token_expired, token_revoked (the deny list), token_invalid, token_subject,
// token_user_mismatch, all 0x86. Success returns the token id and exp
// (ext.AuthResult.TokenID, ExpiresAt): a revocation closes the connection
// (the broker, through the engine's DisconnectWhere), and so does the exp.
// Minted tokens are not throttled.
//
// # User store
//
// With Options.Users (the replicated user store, accounts.Service; the
// broker always sets it) a username+password that is not a token is first
// looked up in the store. Which wins: a user the store names is checked
// against the store only (its bcrypt hash; a token-only user, without a
// hash, cannot log in with a password); the password file is asked only
// about names the store does not hold. A user the store holds as disabled is
// refused after the right password (reason user_disabled, v5 0x8A Banned,
// 3.1.1 return code 5), and also when the password file or a token
// authenticated them: the store wins. A store that cannot be read refuses
// with user_store (v5 0x88, 3.1.1 3). Store checks pass the login throttle
// exactly like password-file checks, and an unknown name pays one bcrypt
// against a dummy hash either way.
//
// # CONNACK codes
//
//	refusal                                     MQTT 5   MQTT 3.1.1
//	bad credentials, any token problem           0x86     4 (bad user name or password)
//	anonymous refused, will topic refused        0x87     5 (not authorized)
//	user disabled in the user store              0x8A     5 (not authorized)
//	user store unreadable                        0x88     3 (server unavailable)
//
// The engine writes the CONNACK with the code Authenticate returns (and the
// 3.1.1 return code it maps to).
//
// # Call order: everything happens before the CONNACK
//
// Because a JWT's identity may differ from the MQTT username and the will
// topic must be checked with that identity before the CONNACK, Authenticate
// does all the work:
//
//  1. authenticate per the table;
//  2. if the CONNECT has a will, call WillCheck(identity, clientID, willTopic);
//  3. on success return the identity ("" for anonymous), which the engine
//     holds as the client's user name for the ACL and the session owner;
//  4. on refusal log one warn line (client_id, remote, listener, user,
//     reason; never the password or token), call Observer.AuthFailed(reason)
//     and return the code: the engine answers the CONNACK and closes.
//
// # Lifecycle and concurrency
//
// New validates the Config, loads the files and returns a ready hook; the
// broker gives it to the engine (engine.Options.Auth). Reload (on SIGHUP) re-reads the
// password file and key files all or nothing: on any error the previous
// credentials stay and the error names the file and line (the throttle's
// state and policy are kept). Close refuses the attempts waiting in the
// throttle and is idempotent. The hook starts no goroutine. Authenticate runs
// on the engine's bounded authentication pool (never on a transport worker),
// concurrently; a bcrypt comparison (cost 10: tens of milliseconds) runs
// there without holding a lock.
//
// # Login throttling
//
// With auth.throttle.enabled (the default) every CONNECT that the table sends
// to the password file passes the throttle (throttle.go) before bcrypt runs;
// tokens, anonymous and malformed CONNECTs do not. Failed checks (bad_password,
// unknown_user) are counted per (username as sent, client IP address) and per
// client IP address, each key forgotten auth.throttle.window (15m) after its
// last failure; at most max_keys (65536) keys are held, beyond which new keys
// are not tracked (fail open, warned) rather than refused.
//
//   - (user, address): free_attempts (5) failures cost nothing. Past them one
//     attempt at a time waits until base_delay (1s), doubled per further
//     failure up to max_delay (30s), has passed since the key's last failure,
//     then is checked; an attempt of the same key that arrives while one runs
//     or waits is refused at once without a check. Checks in flight count
//     against the free attempts, so a parallel burst gets exactly five guesses.
//   - address: address_free_attempts (100) failures of any users cost nothing;
//     past them every attempt from the address waits the same way but is never
//     refused for concurrency: a carrier-grade NAT address is shared by many
//     users, who are slowed, not locked out.
//   - At most max_waiting (1024) connections wait at once (each holds only its
//     own goroutine and socket, not a place in the engine's pool: the wait is
//     marked with ext.AuthIdle); past it a throttled attempt is refused. The
//     wait ends early only at the engine's Close (Authenticate's ctx).
//   - A right password clears its (user, address) key, not the address key.
//   - No key is per user alone: a right password from another address
//     connects at once, so an attacker cannot lock a user out.
//
// A refusal without a check gets the same CONNACK as a wrong password (v5 0x86,
// 3.1.1 4), reason "throttled" in imqtt_auth_failures_total and a debug line.
// Each delayed or refused attempt is counted as
// imqtt_limit_refusals_total{limit="auth.throttle"} (Options.Limits) and logged
// in a warning ("login throttled": user as sent, remote, waited, refused) at
// most every 10 s (the others only counted). User names are not secrets; the
// password never appears. Unknown users are throttled and timed exactly like
// known ones (the key is the name as sent, and Verify pays one bcrypt either
// way), so the throttle reveals nothing about which users exist.
//
// JWT failures count toward nothing and tokens are never delayed: a token
// cannot be guessed (a 256-bit HMAC key or a signature), so a delay would buy
// no protection, while apps retrying with an expired token from behind a
// shared address would slow down everyone there.
//
// Verify always runs one bcrypt comparison, against a dummy hash when the user
// does not exist, so response time does not reveal which users exist.
//
// Secrets: the HMAC key is held in a type that prints and logs as
// "[REDACTED]"; passwords and tokens are never logged or echoed.
package auth
