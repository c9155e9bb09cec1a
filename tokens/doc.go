// Package tokens mints, verifies and revokes the access tokens an app
// backend hands to its apps (issue 19): HS256 JWTs signed with a key the
// whole cluster shares, carrying the user (sub), an optional device id
// (dev), the expiry (exp), the issue time (iat) and a token id (jti).
//
// # What it owns
//
//   - The signing key: configured (tokens.key_file, at least 32 bytes, the
//     same file on every node) or generated at the first start of the
//     cluster and replicated through raft (raw key o/tk/key, written with
//     PutRawIfAbsent so the first proposal wins and every node converges on
//     it). The key is never logged (it prints as "[REDACTED]").
//   - The token records (o/tk/t/{jti}: user, device, expiry), the per-user
//     index (o/tk/u/{user}\x00{jti}) and the deny list (o/tk/d/{jti}), all
//     raw keys with a Badger TTL of the token's expiry plus Margin: a
//     revoked token stays denied until it could not be used anyway, then
//     the entry is swept by Badger's TTL.
//   - The observer (Observe) that tells this node about revocations
//     committed on any node, and the one goroutine that hands them to
//     Options.OnRevoke (the broker closes the connections that used them).
//
// Tokens are recognised by their header: "kid" is "imqtt:" followed by the
// first 8 bytes of the key's SHA-256 in hex (Owns); other JWTs are left to
// the external issuer's verifier (hooks/auth, auth.jwt).
//
// # Call order
//
// New checks the config; Open reads or creates the key through the
// Replicator (it needs a ready raft node: the broker calls it after the node
// is ready) and starts the notifier goroutine; the broker installs Observe
// with persist.Store.AddObserver. Mint, Verify, Revoke, RevokeUser and List
// are safe for concurrent use after Open. Close stops the notifier and is
// idempotent (also after a failed Open).
//
// # Invariants
//
//   - Every durable change is one command through the Replicator: a mint is
//     one command (record + index), a revocation one command (deny
//     entries); nothing is written behind raft's back.
//   - Verify refuses a token whose jti is on the deny list of this node's
//     store; a revocation committed elsewhere reaches it when this node
//     applies the entry, and Observe then reports it to OnRevoke.
//   - Observe runs on raft's apply goroutine: it only scans the ops of the
//     entry and queues ids; OnRevoke runs on the notifier goroutine.
package tokens
